import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client on loopback for tests that need control of every byte and pause (slow
/// bodies, lying Content-Lengths, idle connections). Calls run on a dispatch queue, never on the
/// cooperative pool.
final class RawSocket: @unchecked Sendable {
    // @unchecked: the descriptor is used by one test at a time, from one queue call at a time.
    private let fd: Int32
    private static let queue = DispatchQueue(label: "raw-socket", attributes: .concurrent)

    struct Failure: Error, CustomStringConvertible { var description: String }

    private init(fd: Int32) { self.fd = fd }

    static func connect(port: Int) async throws -> RawSocket {
        try await run {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket() failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                Glibc.close(fd)
                throw Failure(description: "connect() failed: \(errno)")
            }
            return RawSocket(fd: fd)
        }
    }

    /// Sends bytes; false when the peer has closed (EPIPE, ECONNRESET).
    @discardableResult
    func send(_ bytes: [UInt8]) async -> Bool {
        let fd = self.fd
        return (try? await Self.run { () -> Bool in
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return false }
                offset += sent
            }
            return true
        }) ?? false
    }

    @discardableResult
    func send(_ text: String) async -> Bool { await send(Array(text.utf8)) }

    /// Reads until the peer closes or `timeout` passes; returns what arrived and whether it closed.
    func read(timeout: Duration, stopAfterHead: Bool = false) async -> (text: String, closed: Bool) {
        let fd = self.fd
        return (try? await Self.run { () -> (String, Bool) in
            var received: [UInt8] = []
            let deadline = ContinuousClock.now + timeout
            var buffer = [UInt8](repeating: 0, count: 65536)
            while ContinuousClock.now < deadline {
                let remaining = deadline - ContinuousClock.now
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let millis = Int32(max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
                let ready = poll(&poller, 1, millis)
                if ready <= 0 { continue }
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
                received.append(contentsOf: buffer[0..<count])
                if stopAfterHead, let text = String(validating: received, as: UTF8.self), text.contains("\r\n\r\n") {
                    return (text, false)
                }
            }
            return (String(decoding: received, as: UTF8.self), false)
        }) ?? ("", true)
    }

    func close() { Glibc.close(fd) }

    private static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
