public import Hummingbird
import SluiceCore

/// Answers what no route takes with a problem (`application/problem+json`) instead of Hummingbird's bare `404`
/// with no body: another method on a path that takes only POST (a webhook's, the bridge's) is `405` with
/// `Allow: POST`, so that a sender configured with the wrong method, or a person opening the URL in a browser,
/// learns what the route takes; any other miss is `404`.
///
/// Add it to the router after every route: a router's middleware wraps only the routes added after it, so it then
/// wraps the not-found answer alone and costs the routes nothing.
public struct RouteMisses<Context: RequestContext>: RouterMiddleware {
    /// The webhook routes' paths, in ``RoutePath`` normal form.
    let postPaths: Set<String>
    /// Whether the bridge endpoint (`/api/bridge-adapters/webhook/{adapter}`) is served.
    let bridge: Bool

    public init(postPaths: some Sequence<String>, bridge: Bool) {
        self.postPaths = Set(postPaths.compactMap { try? RoutePath.normalised($0) })
        self.bridge = bridge
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // A HEAD answer has no body to carry a problem: the router's own 404.
            guard request.method != .head else { throw error }
            let path = request.uri.path
            guard request.method != .post, takesPost(path) else {
                return Problem(.notFound, slug: "not-found", title: "Not found", detail: "no route takes \(request.method) \(path)")
                    .response
            }
            var response = Problem(
                .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                detail: "\(path) takes POST, not \(request.method)"
            ).response
            response.headers[.allow] = "POST"
            return response
        }
    }

    /// Whether `path` is a webhook route's or the bridge's.
    func takesPost(_ path: String) -> Bool {
        guard let normal = try? RoutePath.normalised(path) else { return false }
        if postPaths.contains(normal) { return true }
        let segments = normal.split(separator: "/")
        return bridge && segments.count == 4 && segments.prefix(3) == ["api", "bridge-adapters", "webhook"]
    }
}
