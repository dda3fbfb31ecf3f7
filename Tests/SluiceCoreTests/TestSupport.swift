import Crypto
import Foundation
import Testing

@testable import SluiceCore

/// The library's SplitMix64 with helpers for building fuzz corpora.
struct FuzzRandom: RandomNumberGenerator {
    private var base: SplitMix64

    init(seed: UInt64) {
        base = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { base.next() }

    /// A value in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }

    mutating func pick<T>(_ values: [T]) -> T {
        values[below(values.count)]
    }
}

/// A `ConfigValueSource` backed by dictionaries.
struct FakeValues: ConfigValueSource {
    struct MissingFile: Error, CustomStringConvertible {
        var path: String
        var description: String { "no such file" }
    }

    var env: [String: String] = [:]
    var files: [String: String] = [:]

    func environment(_ name: String) -> String? { env[name] }

    func file(_ path: String) throws -> String {
        guard let contents = files[path] else { throw MissingFile(path: path) }
        return contents
    }
}

enum CoreTestSupport {
    static let receivedAt = Date(timeIntervalSince1970: 1_700_000_000)

    static func compiler(
        env: [String: String] = [:], files: [String: String] = [:], strict: Bool = false,
        engines: Set<String>? = nil
    ) -> AdapterCompiler {
        AdapterCompiler(
            references: ConfigReferences(
                source: FakeValues(env: env, files: files), resolution: strict ? .strict : .lenient),
            engineNames: engines)
    }

    static func compile(
        _ text: String, file: String = "adapters/test.yaml", env: [String: String] = [:], strict: Bool = false,
        engines: Set<String>? = nil
    ) -> (adapter: CompiledAdapter?, diagnostics: [Diagnostic]) {
        compiler(env: env, strict: strict, engines: engines).compile(text: text, file: file)
    }

    /// Compiles a text that must be free of errors and returns the adapter.
    static func adapter(
        _ text: String, env: [String: String] = [:], sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws -> CompiledAdapter {
        let (adapter, diagnostics) = compile(text, env: env)
        #expect(!diagnostics.hasErrors, "\(diagnostics)", sourceLocation: sourceLocation)
        return try #require(adapter, sourceLocation: sourceLocation)
    }

    static func json(_ text: String) throws -> JSONValue {
        try JSONParser.parse(text)
    }

    /// An event given by hand with a JSON body.
    static func event(
        id: String = "evt_1", type: String? = "test.event", body: JSONValue, key: String? = nil,
        headers: HeaderFields = [:], origin: EventOrigin = .manual, position: SourcePosition = .none
    ) -> Event {
        Event(
            source: "test", id: id, type: type, key: key, headers: headers, body: .json(body), receivedAt: receivedAt,
            position: position, origin: origin)
    }

    static func context(_ event: Event, adapter: String = "demo", version: Int = 7) -> EvaluationContext {
        EvaluationContext(event: event, adapterName: adapter, adapterVersion: version)
    }

    /// A fixture from `Fixtures/durable-workflow-wire`, parsed.
    static func wireFixture(_ name: String) throws -> JSONValue {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/durable-workflow-wire"),
            "missing fixture \(name)")
        let data = try Data(contentsOf: url)
        return try JSONParser.parse(Array(data))
    }
}

/// Lowercase hex SHA-256 computed independently of `Digest` (through swift-crypto directly).
func independentSHA256Hex(_ text: String) -> String {
    SHA256.hash(data: Array(text.utf8)).map { byte in
        let hex = String(byte, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }.joined()
}
