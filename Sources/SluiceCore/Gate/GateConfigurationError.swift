/// A gate setting (boundary, batcher, retry policy) that is out of range.
public struct GateConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The setting at fault, by its Swift property name (for example `maxInFlight`).
    public var field: String
    /// What is wrong with it, in words.
    public var problem: String

    /// Creates an error for one setting.
    ///
    /// - Parameters:
    ///   - field: The setting at fault.
    ///   - problem: What is wrong with it.
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    /// A one-line message such as `maxInFlight must be positive, got 0`.
    public var description: String { "\(field) \(problem)" }
}
