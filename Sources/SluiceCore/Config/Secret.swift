/// A secret value (a signing key, a token). It prints as `<redacted>` everywhere, so that it cannot
/// reach a log, an error or an outcome by accident.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret's bytes; read them only to sign or verify.
    public let bytes: [UInt8]

    public init(_ text: String) {
        self.bytes = Array(text.utf8)
    }

    /// The secret as text; read it only to put it on the wire.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
