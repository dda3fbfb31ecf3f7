import Foundation

/// The values `sluice.yaml`'s service settings take (`http`, `logging`, `metrics`, `tracing`), read from text as
/// `sluice serve` reads them from the file, a `SLUICE_*` variable or a flag. `sluice validate` applies the same
/// rules to the file, with its lines, so that a file it passes is one the service takes.
public enum ServiceSettings {
    /// A setting's value, or why the text is not one.
    public enum Value: Sendable, Hashable {
        case text(String)
        case integer(Int)
        case duration(Duration)
        case boolean(Bool)
    }

    /// The log levels, lowest first.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Reads `text` as the value of `key` (`http.port`, `logging.level`, …).
    ///
    /// - Returns: the value (levels and formats lower-cased, paths in their normal form), or nil for a key that
    ///   takes any text.
    /// - Throws: what is wrong with the text, such as "'eighty' is not a whole number in 0...65535".
    public static func read(_ key: String, _ text: String) throws(ValueProblem) -> Value? {
        switch key {
        case "http.port", "http.operations_port": return .integer(try integer(text, in: 0...65535))
        case "http.max_connections": return .integer(try integer(text, in: 1...1_000_000))
        case "http.max_header_bytes": return .integer(try integer(text, in: 1024...1_048_576))
        case "http.max_buffered_bytes": return .integer(try integer(text, in: 65_536...(1 << 40)))
        case "http.read_timeout", "http.body_timeout":
            guard let value = DurationText.parse(text), value > .zero else {
                throw ValueProblem("'\(text)' is not a duration such as 500ms, 30s or 5m")
            }
            return .duration(value)
        case "logging.level":
            guard logLevels.contains(text.lowercased()) else {
                throw ValueProblem("'\(text)' is not one of \(logLevels.joined(separator: ", "))")
            }
            return .text(text.lowercased())
        case "logging.format":
            guard ["text", "json"].contains(text.lowercased()) else { throw ValueProblem("'\(text)' is not text or json") }
            return .text(text.lowercased())
        case "metrics.enabled":
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .boolean(true)
            case "false", "no", "off", "0": return .boolean(false)
            default: throw ValueProblem("'\(text)' is not true or false")
            }
        case "metrics.path": return .text(try metricsPath(text))
        case "tracing.otlp_endpoint":
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                throw ValueProblem("'\(text)' is not an http:// or https:// URL")
            }
            return .text(text)
        default: return nil
        }
    }

    private static func integer(_ text: String, in range: ClosedRange<Int>) throws(ValueProblem) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ValueProblem("'\(text)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// The router stops the process when a route is registered twice: the metrics path may not read as an
    /// operations route (`//` is `/`, the status page).
    private static func metricsPath(_ text: String) throws(ValueProblem) -> String {
        let normal: String
        do {
            normal = try RoutePath.normalised(text)
        } catch {
            throw ValueProblem("'\(text)' is not a path such as /metrics: \(error)")
        }
        guard !RoutePath.operations.contains(normal) else {
            throw ValueProblem("'\(text)' is taken by the status page or a health route (/, /healthz, /readyz)")
        }
        return normal
    }
}

/// Why a text is not a value of a setting (a path, a port, a duration), for people.
public struct ValueProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
