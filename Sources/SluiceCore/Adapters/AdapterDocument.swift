/// An adapter file after reading: its spec (when the file has the right shape), where each key
/// is, and every problem found.
public struct AdapterDocument: Sendable {
    public var spec: AdapterSpec?
    public var sourceMap: SourceMap
    public var diagnostics: [Diagnostic]

    /// Reads an adapter from its YAML text. Never throws: problems become diagnostics.
    ///
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the file's name, used in diagnostics.
    public static func read(_ text: String, file: String) -> AdapterDocument {
        var reader = YAMLReader(file: file)
        var spec: AdapterSpec?
        if let root = reader.root(of: text) {
            spec = reader.adapterSpec(root)
        }
        return AdapterDocument(
            spec: spec, sourceMap: SourceMap(file: file, locations: reader.locations), diagnostics: reader.diagnostics)
    }
}
