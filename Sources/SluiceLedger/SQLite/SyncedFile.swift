import Foundation

/// A file flushed to disk by its path with `fdatasync`, through a descriptor of its own that is opened
/// again whenever the path leads to another file.
struct SyncedFile {
    /// The file, and what to call it in errors ("the ledger's log").
    let path: String
    let role: String
    private var descriptor: Int32 = -1

    init(path: String, role: String) {
        self.path = path
        self.role = role
    }

    /// Flushes the file's data to disk; the failure, described, if any.
    mutating func flush() -> String? {
        // A file replaced under the same path is opened again: its data cannot be flushed through the
        // old file's descriptor.
        var current = stat()
        guard stat(path, &current) == 0 else { return "cannot find \(role) \(path): \(String(cString: strerror(errno)))" }
        var held = stat()
        if descriptor < 0 || fstat(descriptor, &held) != 0 || held.st_ino != current.st_ino || held.st_dev != current.st_dev {
            close()
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return "cannot open \(role) \(path): \(String(cString: strerror(errno)))" }
        }
        var result: Int32
        repeat { result = fdatasync(descriptor) } while result != 0 && errno == EINTR
        return result == 0 ? nil : "flushing \(role) \(path) failed: \(String(cString: strerror(errno)))"
    }

    /// Closes the descriptor.
    mutating func close() {
        if descriptor >= 0 { _ = Foundation.close(descriptor) }
        descriptor = -1
    }
}
