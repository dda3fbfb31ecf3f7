public import SluiceCore

/// What a test server answers, including ways of answering badly.
public struct ScriptedResponse: Sendable {
    /// How the answer is delivered.
    public enum Delivery: Sendable, Hashable {
        /// Headers, the whole body, keep-alive.
        case complete
        /// Headers announcing the whole body, then only the first `bytes` bytes, then the connection closes.
        case truncated(bytes: Int)
        /// The connection closes without any answer.
        case closeWithoutAnswer
        /// Headers announcing the whole body, then only the first `bytes` bytes, then nothing more for a minute
        /// (a stalled peer, a half-open connection).
        case stalled(bytes: Int)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Wait this long before answering (a slow engine).
    public var delay: Duration?
    public var delivery: Delivery

    public init(
        status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], delay: Duration? = nil,
        delivery: Delivery = .complete
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay
        self.delivery = delivery
    }

    /// A JSON answer.
    public static func json(_ status: Int, _ value: JSONValue, headers: [(name: String, value: String)] = []) -> ScriptedResponse {
        ScriptedResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: JSONWriter.bytes(value))
    }

    /// A plain-text answer.
    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain") -> ScriptedResponse {
        ScriptedResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}
