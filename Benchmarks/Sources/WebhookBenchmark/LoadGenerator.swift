import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An open-loop load generator: request `i` is due at `start + i / rate`, whatever happened to the
/// earlier ones; its latency is measured from that due time to the end of its response. Each of
/// `connections` threads owns one keep-alive connection and takes the next due request; when all
/// are busy, requests wait and the wait counts (as in wrk2).
struct LoadGenerator {
    let port: Int
    let path: String
    let rate: Double
    let duration: Double
    let connections: Int
    let warmup: Double

    struct Result {
        var sent = 0
        var ok = 0
        var other: [Int: Int] = [:]
        var errors = 0
        var latencies: [Double] = []
        var elapsed = 0.0
        var rate = 0.0
        var duration = 0.0
        var connections = 0

        var json: String {
            let achieved = Double(ok) / max(elapsed, 1e-9)
            return """
                {"target_rate":\(rate),"duration_s":\(duration),"connections":\(connections),"sent":\(sent),"ok_2xx":\(ok),\
                "non_2xx":\(other.values.reduce(0, +)),"errors":\(errors),"achieved_rate":\(String(format: "%.0f", achieved)),\
                \(LatencySummary.jsonFields(sortedSeconds: latencies))}
                """
        }
    }

    /// Signed requests, GitHub style, with distinct bodies (the server's inbox gets distinct rows).
    static func requests(path: String, count: Int) -> [[UInt8]] {
        let key = SymmetricKey(data: Array(BenchKey.secret.utf8))
        return (0..<count).map { index in
            let body = #"{"action":"opened","number":\#(index),"repository":{"full_name":"acme/widgets"},"sender":{"login":"octocat"}}"#
            let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: key)
            let signature = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
            let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: bench-\(index)-\(UUID().uuidString)\r\n"
                + "X-Hub-Signature-256: \(signature)\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            return Array((head + body).utf8)
        }
    }

    func run() throws -> Result {
        let requests = Self.requests(path: path, count: 4096)
        let total = Int(rate * (warmup + duration))
        let counter = Counter()
        let start = Date().timeIntervalSince1970 + 0.2
        let end = start + warmup + duration
        let measuredFrom = start + warmup
        let results = Locked<[Result]>([])
        var threads: [Thread] = []
        let done = DispatchGroup()
        for _ in 0..<connections {
            done.enter()
            let thread = Thread {
                var local = Result()
                var connection = try? Connection(port: port)
                while true {
                    let index = counter.next()
                    // Bounded in time too: above the server's capacity, the schedule is abandoned at the end.
                    if index >= total || Date().timeIntervalSince1970 > end { break }
                    let due = start + Double(index) / rate
                    let wait = due - Date().timeIntervalSince1970
                    if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                    if connection == nil { connection = try? Connection(port: port) }
                    guard let open = connection else {
                        if Date().timeIntervalSince1970 >= measuredFrom { local.errors += 1 }
                        continue
                    }
                    let status = open.exchange(requests[index % requests.count])
                    let finished = Date().timeIntervalSince1970
                    if status == nil { connection = nil }
                    // Throughput counts what finishes after the warm-up (by the clock, so that it holds above
                    // capacity too); latency counts requests due after it.
                    guard finished >= measuredFrom else { continue }
                    local.sent += 1
                    switch status {
                    case nil: local.errors += 1
                    case let code? where (200..<300).contains(code):
                        local.ok += 1
                        if due >= measuredFrom { local.latencies.append(finished - due) }
                    case let code?: local.other[code, default: 0] += 1
                    }
                }
                connection?.close()
                results.withLock { $0.append(local) }
                done.leave()
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        done.wait()
        var merged = Result()
        for part in results.withLock({ $0 }) {
            merged.sent += part.sent
            merged.ok += part.ok
            merged.errors += part.errors
            merged.latencies += part.latencies
            for (code, count) in part.other { merged.other[code, default: 0] += count }
        }
        merged.latencies.sort()
        merged.elapsed = min(Date().timeIntervalSince1970, end) - (start + warmup)
        merged.rate = rate
        merged.duration = duration
        merged.connections = connections
        return merged
    }
}

/// Percentiles of sorted latencies, as the JSON fields both the generator and the server print.
enum LatencySummary {
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let index = min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }

    /// The durations' count under `name` and their percentiles, as one JSON line.
    static func jsonLine(_ times: [Duration], name: String) -> String {
        let seconds = times.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }.sorted()
        return #"{"\#(name)":\#(seconds.count),\#(jsonFields(sortedSeconds: seconds))}"#
    }

    /// `"p50_ms":…,"p90_ms":…,"p99_ms":…,"p999_ms":…,"max_ms":…` (null when there are none).
    static func jsonFields(sortedSeconds sorted: [Double]) -> String {
        let ms = { (value: Double) in value.isNaN ? "null" : String(format: "%.3f", value * 1000) }
        return #""p50_ms":\#(ms(percentile(sorted, 50))),"p90_ms":\#(ms(percentile(sorted, 90))),"#
            + #""p99_ms":\#(ms(percentile(sorted, 99))),"p999_ms":\#(ms(percentile(sorted, 99.9))),"#
            + #""max_ms":\#(ms(sorted.last ?? .nan))"#
    }
}

enum BenchKey {
    static let secret = "bench-secret"
}

final class Counter: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private var value = 0
    private let lock = NSLock()
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

final class Locked<Value>: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// One blocking keep-alive HTTP/1.1 connection.
final class Connection {
    let fd: Int32
    var buffer = [UInt8](repeating: 0, count: 16384)

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var noDelay: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 {
            Glibc.close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    /// Sends one request and reads one response; its status, or nil when the connection failed.
    func exchange(_ request: [UInt8]) -> Int? {
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return nil }
            offset += sent
        }
        var received: [UInt8] = []
        var headEnd: Int?
        var contentLength = 0
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            received.append(contentsOf: buffer[0..<count])
            if headEnd == nil, let end = Self.find(received) {
                headEnd = end
                let head = String(decoding: received[0..<end], as: UTF8.self).lowercased()
                if let range = head.range(of: "content-length:") {
                    let digits = head[range.upperBound...].prefix { $0 == " " || $0.isNumber }
                    contentLength = Int(digits.trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let end = headEnd, received.count >= end + contentLength {
                let statusText = String(decoding: received[9..<12], as: UTF8.self)
                return Int(statusText)
            }
        }
    }

    static func find(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    func close() { Glibc.close(fd) }
}
