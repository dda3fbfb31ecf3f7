import Foundation
import SluiceCore
import SluiceEngines
import Testing

@Suite("Retry-After")
struct RetryAfterTests {
    let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT

    @Test("seconds, the three HTTP date formats, past dates and garbage")
    func parse() {
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:30 GMT", now: now) == .seconds(30))
        #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:29:00 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Wed Oct 21 07:28:10 2015", now: now) == .seconds(10))
        #expect(RetryAfter.parse("Tue, 20 Oct 2015 07:28:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse("-5", now: now) == nil)
        #expect(RetryAfter.parse(nil, now: now) == nil)
    }

    /// A gateway's absurd delays are capped at an hour (a waiting step holds its gate slot), and none of
    /// them traps on the way: not the parse, not the description that logs and spans show.
    @Test("huge delays are capped at an hour, negative body delays ignored, and nothing traps")
    func hugeDelays() {
        #expect(RetryAfter.parse("3600", now: now) == .seconds(3_600))
        #expect(RetryAfter.parse("3601", now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse("9999999999", now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse("99999999999999999999999", now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == RetryAfter.maximum)
        for body in [#"{"retry_after_seconds": 1000000000000}"#, #"{"retry_after_seconds": -1000000000000}"#] {
            let error = ResponseClassifier.error(for: EngineHTTPResponse(status: 503, body: Array(body.utf8)), now: now)
            #expect(error.retryAfter == (body.contains("-") ? nil : RetryAfter.maximum))
            #expect(!error.description.isEmpty)
        }
        let huge = EngineError.retryable("unavailable", "busy", retryAfter: .seconds(Int64.max))
        #expect(huge.description.hasSuffix("; retry after 9223372036854775807s"))
    }
}
