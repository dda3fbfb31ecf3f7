public import Hummingbird
import NIOCore
import SluiceCore

/// The routes an operator and an orchestrator use: `/healthz` (alive), `/readyz` (ledger writable,
/// engines reachable, sources assigned), the Prometheus metrics and the status page at `/`.
public enum OperationsRoutes {
    /// Adds the routes to `router`.
    public static func register<Context: RequestContext>(
        on router: Router<Context>, status: StatusPage, metricsPath: String?
    ) {
        router.get("/healthz") { _, _ in
            plain(.ok, "ok\n")
        }
        router.get("/readyz") { _, _ in
            let (ready, checks) = status.health.readiness
            let body = checks.map { "\($0.ok ? "ok  " : "FAIL") \($0.name): \($0.detail)" }.joined(separator: "\n")
            if ready { return plain(.ok, body + "\nready\n") }
            return plain(.serviceUnavailable, (body.isEmpty ? "not checked yet" : body) + "\nnot ready\n")
        }
        if let metricsPath {
            router.get(RouterPath(metricsPath)) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: Observability.renderMetrics())))
            }
        }
        router.get("/") { _, _ in
            Response(
                status: .ok,
                // Nothing but the page's own inline styles and SVG: no script runs, whatever an event's id holds.
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                    .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(string: status.render())))
        }
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
