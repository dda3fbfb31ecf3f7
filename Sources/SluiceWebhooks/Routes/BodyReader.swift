public import Hummingbird
import NIOCore

/// Reads a request body into memory with a size limit, so that a large body cannot hold memory.
/// Its deadline is the server's (``WebhookServerLimits/bodyTimeout``): the connection's
/// `BodyDeadlineHandler` ends a late body's stream, and the read fails with ``Failure/timedOut(after:)``.
public enum BodyReader {
    /// Why a body was not read.
    public enum Failure: Error, Sendable, Equatable {
        /// The body is larger than the limit (known from `Content-Length` or seen while reading).
        case tooLarge(limit: Int)
        /// The whole body did not arrive before the deadline.
        case timedOut(after: Duration)
        /// The connection failed while the body was read.
        case broken
        /// Other requests' bodies being read hold the server's ``BodyBudget``: retry in a moment.
        case busy(budget: Int)
    }

    /// The body's bytes.
    ///
    /// A declared `Content-Length` above the limit fails at once, without reading; otherwise reading
    /// stops at the first chunk that passes the limit, so at most `limit` plus one chunk is buffered.
    ///
    /// With a `budget`, the bytes read are taken from it as they arrive and given back when the read ends: a chunk
    /// that would pass it while other bodies hold bytes fails the read with ``Failure/busy(budget:)``.
    ///
    /// - Throws: ``Failure``.
    public static func read(_ request: Request, limit: Int, budget: BodyBudget? = nil) async throws(Failure) -> [UInt8] {
        let declared = request.headers.firstValue(.contentLength).flatMap(Int.init)
        if let declared, declared > limit { throw .tooLarge(limit: limit) }
        var bytes: [UInt8] = []
        // Reserved up to 64 KiB only: a declared length is a claim, and a thousand connections each
        // declaring the limit and sending nothing must not hold the limit's memory each.
        bytes.reserveCapacity(min(declared ?? 0, 64 * 1024))
        var taken = 0
        defer { budget?.give(taken) }
        do {
            for try await chunk in request.body {
                guard bytes.count + chunk.readableBytes <= limit else { throw Failure.tooLarge(limit: limit) }
                if let budget {
                    guard budget.take(chunk.readableBytes, holding: taken) else { throw Failure.busy(budget: budget.limit) }
                    taken += chunk.readableBytes
                }
                bytes.append(contentsOf: chunk.readableBytesView)
            }
        } catch let failure as Failure {
            throw failure
        } catch let deadline as BodyDeadlineExceeded {
            throw .timedOut(after: deadline.timeout)
        } catch {
            throw .broken
        }
        return bytes
    }
}
