/// Why an event could not be mapped to a plan. Every such event ends `rejected` with reason
/// `malformed_payload`, and the error's description is kept in the outcome's message.
public enum MappingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A path has no value (or is null) and no `default(...)`.
    case missingValue(path: String, found: String?)
    /// A filter cannot apply to the value it got.
    case filterFailed(filter: String, path: String, found: String)
    /// A computed field has the wrong type (a workflow id that is an object…).
    case wrongType(field: String, expected: String, found: String)
    /// A computed field is not acceptable to the engine (too long, bad characters, empty).
    case invalidField(field: String, problem: String)

    public var description: String {
        switch self {
        case .missingValue(let path, nil): "\(path) is missing from the event"
        case .missingValue(let path, let found?): "\(path) is \(found)"
        case .filterFailed(let filter, let path, let found): "filter '\(filter)' cannot apply to \(path): it is \(found)"
        case .wrongType(let field, let expected, let found): "\(field) must be \(expected), but the event gave \(found)"
        case .invalidField(let field, let problem): "\(field) \(problem)"
        }
    }
}
