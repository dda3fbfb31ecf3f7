#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports on 127.0.0.1 for child servers.
public enum FreePort {
    /// A port the kernel just handed out (bound to port 0, then released).
    public static func next() throws -> Int {
        try bindAndRelease(0)
    }

    /// Whether 127.0.0.1:`port` can be bound now (nothing listens there): checked before a start that takes long
    /// enough for a port already in use to be a late surprise.
    public static func isFree(_ port: Int) -> Bool {
        (try? bindAndRelease(port)) != nil
    }

    /// Binds a socket to 127.0.0.1:`port` (0: the kernel's choice), closes it, and returns the port it had.
    private static func bindAndRelease(_ port: Int) throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw ManagedProcess.LaunchError(description: "socket() failed") }
        defer { close(fd) }
        // As a listening server binds (SO_REUSEADDR): a port whose last connections linger in TIME_WAIT is free.
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ManagedProcess.LaunchError(description: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ManagedProcess.LaunchError(description: "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
