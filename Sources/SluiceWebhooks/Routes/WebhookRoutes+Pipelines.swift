public import SluiceCore

extension WebhookRoutes {
    /// One endpoint per webhook adapter among `pipelines` (Kafka adapters are skipped), each
    /// pipeline being its own sink, wrapped by `sink` (for instance `intake.guarding(_:)`).
    ///
    /// - Throws: ``WebhookConfigurationError`` when an adapter's verification settings are unusable.
    public static func endpoints(
        for pipelines: some Sequence<AdapterPipeline>,
        sink: (AdapterPipeline) -> any WebhookSink = { $0 }
    ) throws(WebhookConfigurationError) -> [WebhookEndpoint] {
        var endpoints: [WebhookEndpoint] = []
        for pipeline in pipelines.sorted(by: { $0.adapter.name < $1.adapter.name }) {
            guard case .webhook = pipeline.adapter.source else { continue }
            endpoints.append(try WebhookEndpoint(adapter: pipeline.adapter, sink: sink(pipeline)))
        }
        return endpoints
    }
}
