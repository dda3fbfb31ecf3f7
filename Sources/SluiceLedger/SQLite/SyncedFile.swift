import Foundation

/// A file flushed to disk with `fdatasync`, through a descriptor of its own opened at the first flush.
///
/// The file is the one the path led to then: a later flush that finds another file at the path (the first deleted
/// and a new one made there, as a new SQLite connection makes a missing log) fails rather than flushing the new
/// one, since what was written to the first cannot be reached through it. The first flush also flushes the file's
/// directory, so that a file made since the last start (a new log after a clean stop) keeps its directory entry
/// through a power loss.
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
        var current = stat()
        guard stat(path, &current) == 0 else { return "cannot find \(role) \(path): \(String(cString: strerror(errno)))" }
        if descriptor < 0 {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return "cannot open \(role) \(path): \(String(cString: strerror(errno)))" }
            if let problem = Self.flushDirectory(of: path) { return "flushing the directory of \(role) \(path) failed: \(problem)" }
        }
        var held = stat()
        guard fstat(descriptor, &held) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev else {
            return "\(role) \(path) was deleted or replaced while sluice ran: what was written to it cannot be flushed"
        }
        var result: Int32
        repeat { result = fdatasync(descriptor) } while result != 0 && errno == EINTR
        return result == 0 ? nil : "flushing \(role) \(path) failed: \(String(cString: strerror(errno)))"
    }

    /// `fsync` of the directory holding `path`; the error, if any. A file system that cannot flush a directory
    /// (`EINVAL`, as some network and FUSE file systems answer) is not an error, as SQLite does not make it one.
    private static func flushDirectory(of path: String) -> String? {
        let directory = (path as NSString).deletingLastPathComponent
        let handle = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard handle >= 0 else { return String(cString: strerror(errno)) }
        defer { _ = Foundation.close(handle) }
        var result: Int32
        repeat { result = fsync(handle) } while result != 0 && errno == EINTR
        guard result != 0, errno != EINVAL, errno != ENOTSUP else { return nil }
        return String(cString: strerror(errno))
    }

    /// Closes the descriptor.
    mutating func close() {
        if descriptor >= 0 { _ = Foundation.close(descriptor) }
        descriptor = -1
    }
}
