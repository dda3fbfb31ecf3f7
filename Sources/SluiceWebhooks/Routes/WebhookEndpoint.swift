public import SluiceCore

/// One adapter's webhook route: where it listens, how it verifies, its limits, and where verified
/// events go.
public struct WebhookEndpoint: Sendable {
    /// The adapter's name: the event's source, the `adapter` of the 202 answer and of metrics.
    public var adapter: String
    /// The POST path, such as `/webhooks/stripe`.
    public var path: String
    public var verifier: any WebhookVerifier
    public var sink: any WebhookSink
    /// The largest body accepted, in bytes.
    public var maxBodyBytes: Int
    public var contentTypes: MediaTypes

    public init(
        adapter: String, path: String, verifier: any WebhookVerifier, sink: any WebhookSink,
        maxBodyBytes: Int = CompiledAdapter.WebhookRoute.defaultMaxBodyBytes,
        contentTypes: [String] = CompiledAdapter.WebhookRoute.defaultContentTypes
    ) {
        self.adapter = adapter
        self.path = path
        self.verifier = verifier
        self.sink = sink
        self.maxBodyBytes = maxBodyBytes
        self.contentTypes = MediaTypes(contentTypes)
    }

    /// The endpoint of a compiled webhook adapter: its path, limits and a verifier built from its
    /// `verify` block.
    ///
    /// - Throws: ``WebhookConfigurationError`` when the adapter is not a webhook adapter or its
    ///   verification settings are unusable.
    public init(adapter: CompiledAdapter, sink: any WebhookSink) throws(WebhookConfigurationError) {
        guard case .webhook(let route) = adapter.source else { throw .notAWebhookAdapter(adapter.name) }
        self.init(
            adapter: adapter.name, path: route.path, verifier: try WebhookVerifiers.make(route.verification), sink: sink,
            maxBodyBytes: route.maxBodyBytes, contentTypes: route.contentTypes)
    }
}
