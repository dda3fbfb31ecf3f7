import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy in front of PostgreSQL. Once armed, it forwards the next client write that contains
/// `COMMIT` to the server and then cuts that connection without relaying the server's answer: the server
/// commits, and the client never hears it — the lost answer a ledger must survive without applying a
/// transaction twice.
final class CommitAnswerDropper: Sendable {
    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let armed = Mutex(false)
    private let dropCount = Mutex(0)
    /// Connections accepted so far, and how many of the first ones are frozen.
    private let connections = Mutex((accepted: 0, frozen: 0))

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = descriptor
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        let this = self
        Thread { this.acceptLoop() }.start()
    }

    /// Cuts the connection that next sends `COMMIT`, after the server has it.
    func arm() { armed.withLock { $0 = true } }

    /// Leaves every connection open so far half-open: they stay connected, but nothing more is relayed
    /// either way (a network cut the peers are not told about). Later connections are relayed.
    func freezeOpenConnections() { connections.withLock { $0.frozen = $0.accepted } }

    /// How many answers were dropped.
    var drops: Int { dropCount.withLock { $0 } }

    func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: UInt16(upstreamPort))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(client)
                Glibc.close(server)
                continue
            }
            let cut = Flag()
            let number = connections.withLock { connections -> Int in
                connections.accepted += 1
                return connections.accepted
            }
            Thread { self.pump(from: client, to: server, cut: cut, watching: true, number: number) }.start()
            Thread { self.pump(from: server, to: client, cut: cut, watching: false, number: number) }.start()
        }
    }

    /// Copies one direction; the client-to-server side watches for an armed `COMMIT`.
    private func pump(from source: Int32, to destination: Int32, cut: Flag, watching: Bool, number: Int) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let commit = Array("COMMIT".utf8)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            if number <= connections.withLock({ $0.frozen }) { continue }  // half-open: swallowed
            let chunk = Array(buffer[0..<count])
            if !watching, cut.value.withLock({ $0 }) { continue }  // the server's answer to the cut COMMIT is never relayed
            let cutting = watching && Self.contains(chunk, commit) && armed.withLock { armed in
                defer { armed = false }
                return armed
            }
            if cutting { cut.value.withLock { $0 = true } }
            guard Self.write(chunk, to: destination) else { break }
            if cutting {
                dropCount.withLock { $0 += 1 }
                shutdown(source, Int32(SHUT_RDWR))  // the client sees the connection drop at once
                usleep(300_000)  // the server reads the COMMIT before it sees the end of the stream
                shutdown(destination, Int32(SHUT_RDWR))
                break
            }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }

    /// Whether a connection was cut: its server-to-client side relays nothing more.
    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
