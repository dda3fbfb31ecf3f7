import Foundation
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
}
