import Foundation
import SluiceTesting
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy in front of PostgreSQL. Once armed, it forwards the next client write that contains
/// `COMMIT` to the server and then cuts that connection without relaying the server's answer: the server
/// commits, and the client never hears it — the lost answer a ledger must survive without applying a
/// transaction twice. It can also leave connections half-open, all at once or in the middle of one answer.
final class CommitAnswerDropper: Sendable {
    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let armed = Mutex(false)
    private let dropCount = Mutex(0)
    /// The statement whose answer stalls next, and how much of that answer is relayed first.
    private let stallPlan = Mutex<(marker: [UInt8], bytes: Int)?>(nil)
    private let stallCount = Mutex(0)
    /// Connections accepted so far, and how many of the first ones are frozen.
    private let connections = Mutex((accepted: 0, frozen: 0))

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        (listener, port) = try LoopbackListener.open()
        let this = self
        Thread { this.acceptLoop() }.start()
    }

    /// Cuts the connection that next sends `COMMIT`, after the server has it.
    func arm() { armed.withLock { $0 = true } }

    /// Leaves every connection open so far half-open: they stay connected, but nothing more is relayed
    /// either way (a network cut the peers are not told about). Later connections are relayed.
    func freezeOpenConnections() { connections.withLock { $0.frozen = $0.accepted } }

    /// Leaves half-open the connection that next sends a statement containing `marker` and whose answer to it is
    /// longer than `bytes`: the first `bytes` of the answer are relayed, then nothing more either way.
    func stallAnswer(to marker: String, after bytes: Int) {
        stallPlan.withLock { $0 = (Array(marker.utf8), bytes) }
    }

    /// How many answers were dropped.
    var drops: Int { dropCount.withLock { $0 } }

    /// How many answers stalled midway.
    var stalls: Int { stallCount.withLock { $0 } }

    /// How many connections were opened through the proxy.
    var accepted: Int { connections.withLock { $0.accepted } }

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
            let link = Link()
            let number = connections.withLock { connections -> Int in
                connections.accepted += 1
                return connections.accepted
            }
            Thread { self.pump(from: client, to: server, link: link, watching: true, number: number) }.start()
            Thread { self.pump(from: server, to: client, link: link, watching: false, number: number) }.start()
        }
    }

    /// Copies one direction; the client-to-server side watches for an armed `COMMIT` and for the statement whose
    /// answer is to stall.
    private func pump(from source: Int32, to destination: Int32, link: Link, watching: Bool, number: Int) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let commit = Array("COMMIT".utf8)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            if number <= connections.withLock({ $0.frozen }) || link.isStalled { continue }  // half-open: swallowed
            var chunk = Array(buffer[0..<count])
            if !watching, link.cut.withLock({ $0 }) { continue }  // the server's answer to the cut COMMIT is never relayed
            if watching {
                link.watchAnswer(to: chunk, stallPlan.withLock { $0 })
            } else {
                chunk = relayed(chunk, on: link)
                if chunk.isEmpty { continue }
            }
            let cutting = watching && Self.contains(chunk, commit) && armed.withLock { armed in
                defer { armed = false }
                return armed
            }
            if cutting { link.cut.withLock { $0 = true } }
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

    /// The part of a server chunk relayed on `link`; a stall ends the plan, so that later connections are relayed.
    private func relayed(_ chunk: [UInt8], on link: Link) -> [UInt8] {
        let (relayed, stalled) = link.relayed(chunk)
        if stalled {
            stallPlan.withLock { $0 = nil }
            stallCount.withLock { $0 += 1 }
        }
        return relayed
    }

    /// One relayed connection's faults.
    private final class Link: Sendable {
        /// Whether the connection was cut: its server-to-client side relays nothing more.
        let cut = Mutex(false)
        /// How much more of the answer being watched is relayed before the connection stalls; nil when none is.
        private let allowance = Mutex<Int?>(nil)

        /// Whether the connection stalled: nothing more is relayed either way.
        var isStalled: Bool { allowance.withLock { $0 == 0 } }

        /// Watches the answer to the client's `chunk` when it holds the plan's statement; stops watching at the next.
        func watchAnswer(to chunk: [UInt8], _ plan: (marker: [UInt8], bytes: Int)?) {
            let watched = plan.flatMap { CommitAnswerDropper.contains(chunk, $0.marker) ? $0.bytes : nil }
            allowance.withLock { $0 = watched }
        }

        /// The part of a server chunk within the allowance, and whether the connection stalls with it.
        func relayed(_ chunk: [UInt8]) -> (chunk: [UInt8], stalled: Bool) {
            allowance.withLock { allowance in
                guard let left = allowance else { return (chunk, false) }
                let count = min(left, chunk.count)
                allowance = left - count
                return (Array(chunk.prefix(count)), allowance == 0)
            }
        }
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
