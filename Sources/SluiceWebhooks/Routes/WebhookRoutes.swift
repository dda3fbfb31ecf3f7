public import Hummingbird

/// Registers webhook adapters' routes on a router that the application owns, beside `/metrics`,
/// `/healthz`, `/readyz` and the status page.
public enum WebhookRoutes {
    /// Adds `POST <path>` for each endpoint.
    ///
    /// - Parameters:
    ///   - endpoints: one per webhook adapter; build them with ``WebhookEndpoint/init(adapter:sink:)``.
    ///   - router: a `Router` or a `RouterGroup`, with any request context.
    ///   - options: the body deadline and clock.
    ///   - metrics: where request, verification and admission metrics go.
    /// - Throws: ``WebhookConfigurationError/duplicatePath(_:adapters:)`` when two adapters share a path.
    public static func register<Methods: RouterMethods>(
        _ endpoints: [WebhookEndpoint], on router: Methods, options: WebhookRouteOptions = WebhookRouteOptions(),
        metrics: WebhookMetrics = WebhookMetrics()
    ) throws(WebhookConfigurationError) {
        var seen: [String: String] = [:]
        for endpoint in endpoints {
            if let other = seen[endpoint.path] {
                throw .duplicatePath(endpoint.path, adapters: [other, endpoint.adapter])
            }
            seen[endpoint.path] = endpoint.adapter
        }
        for endpoint in endpoints {
            let handler = WebhookHandler(endpoint: endpoint, options: options, metrics: metrics)
            router.post(RouterPath(endpoint.path)) { request, _ in await handler.respond(to: request) }
        }
    }

    /// A router with only the webhook routes (for tests and benchmarks).
    ///
    /// - Throws: ``WebhookConfigurationError`` as ``register(_:on:options:metrics:)`` does.
    public static func buildRouter(
        _ endpoints: [WebhookEndpoint], options: WebhookRouteOptions = WebhookRouteOptions(),
        metrics: WebhookMetrics = WebhookMetrics()
    ) throws(WebhookConfigurationError) -> Router<BasicRequestContext> {
        let router = Router()
        try register(endpoints, on: router, options: options, metrics: metrics)
        return router
    }
}
