public import HTTPTypes
public import Hummingbird
import NIOCore
public import SluiceCore

/// An RFC 9457 problem answer (`application/problem+json`): `type`, `title`, `status`, `detail`.
///
/// Details name headers, limits and reasons, never a secret, a signature or a token.
public struct Problem: Error, Sendable, HTTPResponseError {
    public var status: HTTPResponse.Status
    /// A short, stable slug; the `type` member is `urn:sluice:problem:<slug>`.
    public var slug: String
    public var title: String
    public var detail: String
    public var retryAfter: Duration?
    /// Further members (such as `limit`, `reason`).
    public var extra: JSONObject

    public init(
        _ status: HTTPResponse.Status, slug: String, title: String, detail: String, retryAfter: Duration? = nil,
        extra: JSONObject = JSONObject()
    ) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.retryAfter = retryAfter
        self.extra = extra
    }

    /// The problem as JSON, members in a fixed order.
    public var json: JSONValue {
        var object = JSONObject()
        object["type"] = .string("urn:sluice:problem:" + slug)
        object["title"] = .string(title)
        object["status"] = .int(Int64(status.code))
        object["detail"] = .string(detail)
        if let retryAfter { object["retry_after_seconds"] = .int(Self.seconds(retryAfter)) }
        for member in extra.members { object[member.key] = member.value }
        return .object(object)
    }

    /// The answer as a response.
    public var response: Response {
        var fields: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { fields[.retryAfter] = String(Self.seconds(retryAfter)) }
        return Response(
            status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(json))))
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response }

    /// Whole seconds, rounded up, at least 1: what `Retry-After` carries.
    static func seconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(1, seconds + (attoseconds > 0 ? 1 : 0))
    }
}

extension Response {
    /// A JSON response.
    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        // Appended rather than set: setting a field searches and rebuilds the list.
        if !fields.contains(.contentType) { fields.append(HTTPField(name: .contentType, value: "application/json")) }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value))))
    }
}
