import Hummingbird
import SluiceCore
import SluiceWebhooks

/// The webhook source: each webhook adapter's `POST path` (verified, then durable in the inbox
/// before `202`), and Sluice's copy of the engine's bridge endpoint when `bridge.tokens` is set.
enum WebhookSource {
    /// Installs the routes. Intake guards every sink: once shutdown begins, webhooks get `503`.
    static func install(on router: Router<BasicRequestContext>, context: RouteContext) throws {
        let endpoints: [WebhookEndpoint]
        do {
            endpoints = try WebhookRoutes.endpoints(for: context.pipelines.values) { pipeline in
                context.intake.guarding(context.inboxSink(pipeline))
            }
        } catch {
            throw StartupError(error.description)
        }
        let metrics = WebhookMetrics()
        // One budget for every body being read, the bridge's too.
        let budget = BodyBudget(limit: context.configuration.http.maxBufferedBytes)
        do {
            try WebhookRoutes.register(endpoints, on: router, options: WebhookRouteOptions(bodyBudget: budget), metrics: metrics)
        } catch {
            throw StartupError(error.description)
        }
        let tokens = context.configuration.bridge.tokens
        if !tokens.isEmpty {
            var executors: [String: any BridgeExecutor] = [:]
            for (name, pipeline) in context.pipelines { executors[name] = BridgeGuard(intake: context.intake, pipeline: pipeline) }
            BridgeEndpoint(tokens: tokens, executors: executors, bodyBudget: budget).register(on: router, metrics: metrics)
        }
    }
}

/// The bridge endpoint's executor: the adapter's pipeline, refused with `503` once intake stops.
struct BridgeGuard: BridgeExecutor {
    let intake: Intake
    let pipeline: AdapterPipeline

    var adapterVersion: Int { pipeline.adapterVersion }

    func execute(_ plan: Plan) async -> SynchronousResult {
        if intake.isDraining { return .unavailable(reason: "Sluice is shutting down") }
        // Before re-admission is done, a call could overtake an earlier event of its key still in the inbox.
        if !intake.isOpen { return .unavailable(reason: "Sluice is starting: earlier events are being re-admitted") }
        return await pipeline.execute(plan)
    }
}
