/// An adapter file after reading: its spec, where each key is, and every problem found.
///
/// When ``diagnostics`` has errors, ``spec`` is only a best effort (placeholders stand in for what
/// could not be read) so that later checks can still report their problems; it never compiles.
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
