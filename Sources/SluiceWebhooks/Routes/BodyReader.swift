public import Hummingbird
import NIOCore

/// Reads a request body into memory with a size limit and a deadline, so that neither a large nor a
/// slow body can hold memory or a connection for long.
public enum BodyReader {
    /// Why a body was not read.
    public enum Failure: Error, Sendable, Equatable {
        /// The body is larger than the limit (known from `Content-Length` or seen while reading).
        case tooLarge(limit: Int)
        /// The whole body did not arrive before the deadline.
        case timedOut(after: Duration)
        /// The connection failed while the body was read.
        case broken
    }

    /// The body's bytes.
    ///
    /// A declared `Content-Length` above the limit fails at once, without reading; otherwise reading
    /// stops at the first chunk that passes the limit, so at most `limit` plus one chunk is buffered.
    ///
    /// - Throws: ``Failure``.
    public static func read(_ request: Request, limit: Int, timeout: Duration) async throws(Failure) -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw .tooLarge(limit: limit)
        }
        let body = request.body
        let result: Result<[UInt8], Failure> = await withTaskGroup(of: Result<[UInt8], Failure>?.self) { group in
            group.addTask { await collect(body, limit: limit) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .failure(.timedOut(after: timeout))
                } catch {
                    return nil
                }
            }
            var outcome: Result<[UInt8], Failure> = .failure(.broken)
            if let first = await group.next(), let value = first {
                outcome = value
            }
            group.cancelAll()
            return outcome
        }
        return try result.get()
    }

    private static func collect(_ body: RequestBody, limit: Int) async -> Result<[UInt8], Failure> {
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                guard bytes.count + chunk.readableBytes <= limit else { return .failure(.tooLarge(limit: limit)) }
                bytes.append(contentsOf: chunk.readableBytesView)
            }
        } catch {
            return .failure(.broken)
        }
        return .success(bytes)
    }
}
