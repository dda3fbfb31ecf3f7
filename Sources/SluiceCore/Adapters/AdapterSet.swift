/// The adapters of one deployment, checked together: names, webhook paths, and the topics each consumer group reads
/// are unique.
public struct AdapterSet: Sendable {
    public let adapters: [CompiledAdapter]

    /// One adapter file to check together with the others.
    public struct File: Sendable {
        public var name: String
        public var text: String

        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }
    }

    /// Compiles every file and checks them as a set.
    ///
    /// - Returns: the set (only when there is no error) and every diagnostic, sorted by file and line.
    public static func compile(_ files: [File], compiler: AdapterCompiler) -> (set: AdapterSet?, diagnostics: [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var compiled: [(file: String, adapter: CompiledAdapter)] = []
        for file in files {
            let (adapter, problems) = compiler.compile(text: file.text, file: file.name)
            diagnostics += problems
            if let adapter { compiled.append((file.name, adapter)) }
        }
        var names: [String: String] = [:]
        var paths: [String: String] = [:]
        /// The file reading each topic in each consumer group.
        var readers: [String: String] = [:]
        for (file, adapter) in compiled {
            if let first = names[adapter.name] {
                diagnostics.append(
                    Diagnostic(file: file, line: 1, column: 1, key: "adapter", message: "duplicate adapter name '\(adapter.name)' (also in \(first))"))
            } else {
                names[adapter.name] = file
            }
            if case .webhook(let route) = adapter.source {
                if let first = paths[route.path] {
                    diagnostics.append(
                        Diagnostic(file: file, line: 1, column: 1, key: "source.webhook.path", message: "duplicate webhook path '\(route.path)' (also in \(first))"))
                } else {
                    paths[route.path] = file
                }
            }
            if case .kafka(let subscription) = adapter.source {
                // Each adapter runs a consumer of its own: two in one group split a topic's partitions between them,
                // each mapping only part of its records.
                for topic in Set(subscription.topics) {
                    if let first = readers[subscription.group + "\u{0}" + topic] {
                        diagnostics.append(
                            Diagnostic(
                                file: file, line: 1, column: 1, key: "source.kafka.group",
                                message:
                                    "consumer group '\(subscription.group)' already reads topic '\(topic)' (in \(first)): each adapter would get only part of its partitions; give each adapter a group of its own"
                            ))
                    } else {
                        readers[subscription.group + "\u{0}" + topic] = file
                    }
                }
            }
        }
        diagnostics.sort()
        return (diagnostics.hasErrors ? nil : AdapterSet(adapters: compiled.map(\.adapter)), diagnostics)
    }

    /// The adapter named `name`.
    public func adapter(named name: String) -> CompiledAdapter? {
        adapters.first { $0.name == name }
    }
}
