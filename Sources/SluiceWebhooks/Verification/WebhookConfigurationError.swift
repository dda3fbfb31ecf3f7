/// A webhook route that cannot be built from its adapter: reported at start-up, never per request.
public enum WebhookConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A secret is not in the form the scheme needs; says which one by position, never its value.
    case invalidSecret(index: Int, String)
    /// A scheme that signs needs at least one secret.
    case noSecrets(scheme: String)
    /// An option has a value the scheme does not know.
    case invalidOption(name: String, value: String, expected: [String])
    /// A required option is missing.
    case missingOption(name: String, scheme: String)
    /// The adapter's source is not a webhook.
    case notAWebhookAdapter(String)
    /// Two adapters claim the same path.
    case duplicatePath(String, adapters: [String])

    public var description: String {
        switch self {
        case .invalidSecret(let index, let why): "secret #\(index + 1) is invalid: \(why)"
        case .noSecrets(let scheme): "the \(scheme) scheme needs at least one secret"
        case .invalidOption(let name, let value, let expected):
            "\(name) '\(value)' is not one of \(expected.joined(separator: ", "))"
        case .missingOption(let name, let scheme): "the \(scheme) scheme needs '\(name)'"
        case .notAWebhookAdapter(let name): "adapter '\(name)' has no webhook source"
        case .duplicatePath(let path, let adapters): "path \(path) is claimed by \(adapters.joined(separator: " and "))"
        }
    }
}
