import NIOHTTP1

/// The methods engines use, so that engine code needs no NIO import.
enum HTTPMethodName: Sendable {
    case GET
    case POST

    var nio: HTTPMethod {
        switch self {
        case .GET: .GET
        case .POST: .POST
        }
    }
}
