/// One problem found in a configuration or adapter file, located by line, column and key.
///
/// Printed as `file:line:column: key: message` (warnings say `warning:` before the message), the
/// format editors and CI annotate.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible, Comparable {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var file: String
    public var line: Int
    public var column: Int
    /// The key path, such as `rules[0].do[1].signal_workflow.signal_name`.
    public var key: String
    public var message: String

    public init(severity: Severity = .error, file: String, line: Int, column: Int, key: String, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        "\(file):\(line):\(column): \(key.isEmpty ? "(document)" : key): "
            + (severity == .warning ? "warning: " : "") + message
    }

    public static func < (lhs: Diagnostic, rhs: Diagnostic) -> Bool {
        (lhs.file, lhs.line, lhs.column, lhs.key, lhs.message) < (rhs.file, rhs.line, rhs.column, rhs.key, rhs.message)
    }
}

extension Array where Element == Diagnostic {
    /// Whether any diagnostic is an error.
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
