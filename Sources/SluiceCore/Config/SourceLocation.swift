/// A line and column (both from 1) in a configuration file.
public struct SourceLocation: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// Where each key of a file starts, so that problems found after reading can still be located.
public struct SourceMap: Sendable, Hashable {
    public var file: String
    public var locations: [String: SourceLocation]

    public init(file: String, locations: [String: SourceLocation] = [:]) {
        self.file = file
        self.locations = locations
    }

    /// The location of `key`, or of its nearest enclosing key that has one.
    public func location(of key: String) -> SourceLocation {
        var candidate = key
        while true {
            if let location = locations[candidate] { return location }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = String(candidate[..<cut])
        }
        return SourceLocation(line: 1, column: 1)
    }

    /// A diagnostic located at `key`.
    public func diagnostic(_ message: String, key: String, severity: Diagnostic.Severity = .error) -> Diagnostic {
        let location = location(of: key)
        return Diagnostic(
            severity: severity, file: file, line: location.line, column: location.column, key: key, message: message)
    }
}
