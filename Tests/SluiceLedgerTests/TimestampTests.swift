import Foundation
import SluiceCore
import Testing

/// The hand-written RFC 3339 path agrees with Foundation's ISO 8601 styles.
@Suite struct TimestampTests {
    @Test func peersTimesOutsideTheUsableRangeAreRefusedAndConversionsSaturate() {
        #expect(Timestamp.date(unixMilliseconds: .max) == nil)
        #expect(Timestamp.date(unixMilliseconds: -1) == nil)
        #expect(Timestamp.date(unixMilliseconds: 1_700_000_000_123) == Date(timeIntervalSince1970: 1_700_000_000.123))
        #expect(Timestamp.unixMilliseconds(Date(timeIntervalSince1970: 9.3e15)) == .max)
        #expect(Timestamp.unixMilliseconds(Date(timeIntervalSince1970: -9.3e15)) == .min)
        #expect(Timestamp.unixMilliseconds(Date(timeIntervalSince1970: 1_700_000_000.1234)) == 1_700_000_000_123)
        #expect(!Timestamp.format(Date(timeIntervalSince1970: 9.3e15)).isEmpty)
    }

    @Test func formatsAndParsesLikeFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        let foundationParse = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for _ in 0..<5000 {
            let milliseconds = Int64.random(in: 0..<4_102_444_800_000, using: &generator)  // 1970…2100
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = Timestamp.format(date)
            // Foundation truncates the Double, so `ms / 1000` sometimes prints a millisecond early; half a
            // millisecond later it prints the intended one.
            let expected = Date(timeIntervalSince1970: (Double(milliseconds) + 0.5) / 1000)
                .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
            #expect(text == expected)
            let parsed = try #require(Timestamp.parse(text))
            let reference = try foundationParse.parse(text)
            #expect(abs(parsed.timeIntervalSince(reference)) < 0.000_001, "\(text)")
            #expect(Timestamp.format(parsed) == text)
        }
        #expect(Timestamp.parse("2026-02-03T04:05:06Z") == Date(timeIntervalSince1970: 1_770_091_506))
        #expect(Timestamp.format(try #require(Timestamp.parse("2800-07-15T23:59:59.999Z"))) == "2800-07-15T23:59:59.999Z")
        #expect(Timestamp.parse("2026-02-03T04:05:06+01:00") == Date(timeIntervalSince1970: 1_770_087_906))
        #expect(Timestamp.parse("2026-13-03T04:05:06Z") == nil)
        // A day its month does not have is refused, not rolled over into the next month (Foundation's parser does).
        for impossible in ["2026-02-30T00:00:00Z", "2025-02-29T00:00:00.000Z", "2026-04-31T10:00:00+00:00", "2026-06-31T00:00:00Z"] {
            #expect(Timestamp.parse(impossible) == nil, "\(impossible)")
        }
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2000-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2100-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("2026-12-31T23:59:59Z") != nil)
        #expect(Timestamp.parse("not a time") == nil)
    }

    /// Where a Double holding seconds is coarser than a microsecond (after about 2100), a parsed timestamp
    /// still formats as itself, to the year 9999.
    @Test func farFutureTimestampsKeepTheirMillisecond() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let milliseconds = Int64.random(in: 4_102_444_800_000..<253_402_300_800_000, using: &generator)  // 2100…9999
            let text = Timestamp.format(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
            let parsed = try #require(Timestamp.parse(text))
            #expect(Timestamp.format(parsed) == text)
        }
    }
}
