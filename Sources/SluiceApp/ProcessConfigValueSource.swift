public import Foundation
public import SluiceCore

/// Resolves `${env:NAME}` from the process environment and `${file:PATH}` from disk, relative paths
/// against a base directory (the working directory Sluice runs in).
public struct ProcessConfigValueSource: ConfigValueSource {
    public let environment: [String: String]
    public let baseDirectory: URL

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, baseDirectory: URL) {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    public func environment(_ name: String) -> String? {
        environment[name]
    }

    public func file(_ path: String) throws -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
        return try String(contentsOf: url, encoding: .utf8)
    }
}
