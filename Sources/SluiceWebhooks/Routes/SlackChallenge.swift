public import SluiceCore

/// Slack's `url_verification` handshake: a signed body `{"type":"url_verification","challenge":…}`
/// that must be answered with the challenge and is not an event.
public enum SlackChallenge {
    /// `{"challenge": …}` when the body is a URL verification request; nil otherwise.
    public static func answer(_ body: [UInt8]) -> JSONValue? {
        guard body.count <= 4096, let json = try? JSONParser.parse(body),
            json["type"]?.stringValue == "url_verification", let challenge = json["challenge"]?.stringValue
        else { return nil }
        return ["challenge": .string(challenge)]
    }
}
