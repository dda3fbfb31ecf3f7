import ArgumentParser
import Foundation
import SluiceApp
import SluiceCore

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check sluice.yaml and adapter files, reporting every problem at once.",
        discussion: """
            With no PATH, checks sluice.yaml in the current directory (when present) and the adapters \
            it points to, or else adapters/. A PATH may be an adapter file, a directory of them, or a \
            sluice.yaml. Problems are printed as file:line:column: key: message.

            This checks files, not the environment: a ${env:NAME} that is not set is a warning here and \
            an error only when the service starts.

            Exit status: 0 when there is no error (warnings allowed), 1 otherwise.
            """
    )

    @Argument(help: "Adapter files, directories of adapters, or a sluice.yaml.")
    var paths: [String] = []

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    func run() throws {
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let result = ProjectLoader(resolution: .lenient).load(paths: paths, directory: directory)
        for diagnostic in result.diagnostics {
            FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8))
        }
        let errors = result.diagnostics.filter { $0.severity == .error }.count
        let warnings = result.diagnostics.count - errors
        let adapters = result.adapters?.adapters.count ?? 0
        if errors == 0 {
            print("ok: \(result.files.count) file(s), \(adapters) adapter(s), \(warnings) warning(s)")
        } else {
            print("\(errors) error(s), \(warnings) warning(s) in \(result.files.count) file(s)")
        }
        if errors > 0 || (strict && warnings > 0) { throw ExitCode(1) }
    }
}
