import Foundation

/// Where `${env:NAME}` and `${file:PATH}` in configuration files get their values.
public protocol ConfigValueSource: Sendable {
    /// The environment variable `name`, or nil when it is not set.
    func environment(_ name: String) -> String?
    /// The contents of the file at `path`.
    func file(_ path: String) throws -> String
}

/// How strictly unresolved references are treated.
public enum ReferenceResolution: Sendable {
    /// A missing variable or file is an error: the service is starting.
    case strict
    /// A missing variable or file is a warning: `sluice validate` checks files, not the environment.
    case lenient
}

/// Resolves `${env:NAME}` and `${file:PATH}` references in configuration text at load time.
///
/// Resolved values are never put in diagnostics: a problem names the variable or the file, not what
/// it holds.
public struct ConfigReferences: Sendable {
    public let source: any ConfigValueSource
    public let resolution: ReferenceResolution

    public init(source: any ConfigValueSource, resolution: ReferenceResolution) {
        self.source = source
        self.resolution = resolution
    }

    /// A problem with one reference.
    public struct Problem: Sendable, Hashable {
        public var severity: Diagnostic.Severity
        public var message: String
    }

    /// The text with its references replaced.
    ///
    /// - Parameter escapeForTemplate: escape `${` in resolved values as `$${`, so that a secret can
    ///   never be read as an expression.
    /// - Returns: the text and any problems; an unresolved reference leaves an empty value.
    public func resolve(_ text: String, escapeForTemplate: Bool = false) -> (text: String, problems: [Problem]) {
        guard text.contains("${env:") || text.contains("${file:") else { return (text, []) }
        var output = ""
        var problems: [Problem] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            let afterOpen = rest[start.upperBound...]
            let isEnv = afterOpen.hasPrefix("env:")
            let isFile = afterOpen.hasPrefix("file:")
            let escaped = start.lowerBound > rest.startIndex && rest[rest.index(before: start.lowerBound)] == "$"
            guard isEnv || isFile, !escaped, let end = afterOpen.firstIndex(of: "}") else {
                // `$${` is a literal `${`: outside templates, drop the escaping `$`.
                if escaped, !escapeForTemplate, output.hasSuffix("$") { output.removeLast() }
                output += "${"
                rest = afterOpen
                continue
            }
            let name = String(afterOpen[afterOpen.index(afterOpen.startIndex, offsetBy: isEnv ? 4 : 5)..<end])
            var value = ""
            let severity: Diagnostic.Severity = resolution == .strict ? .error : .warning
            if name.isEmpty {
                problems.append(Problem(severity: .error, message: "empty \(isEnv ? "${env:}" : "${file:}") reference"))
            } else if isEnv {
                if let found = source.environment(name) {
                    value = found
                } else {
                    problems.append(Problem(severity: severity, message: "environment variable \(name) is not set"))
                }
            } else {
                do {
                    value = try source.file(name)
                    // By scalar: "\r\n" is one Character, which neither hasSuffix("\n") nor hasSuffix("\r") sees.
                    while let last = value.unicodeScalars.last, last == "\n" || last == "\r" {
                        value.unicodeScalars.removeLast()
                    }
                } catch {
                    problems.append(Problem(severity: severity, message: "cannot read file \(name): \(error)"))
                }
            }
            output += escapeForTemplate ? value.replacingOccurrences(of: "${", with: "$${") : value
            rest = afterOpen[afterOpen.index(after: end)...]
            // In a template, a value ending in `$` joins the `{` after it: `${env:P}${body.id}` with P=`a$` would read
            // as `a$${body.id}`, an escaped literal, and every event would get the same text.
            if escapeForTemplate, value.hasSuffix("$"), rest.hasPrefix("{") || rest.hasPrefix("${") {
                problems.append(
                    Problem(
                        severity: .error,
                        message: "the value of \(isEnv ? "${env:" : "${file:")\(name)} ends with '$', which would join the '{' after it; put other text between them"))
            }
        }
        output += rest
        return (output, problems)
    }
}
