public import Foundation

/// Reads HTTP `Retry-After` values: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
public enum RetryAfter {
    /// The delay the header asks for, or nil when it is absent or unreadable. A date in the past is zero.
    ///
    /// - Parameters:
    ///   - value: the header's value, such as `120` or `Wed, 21 Oct 2015 07:28:00 GMT`.
    ///   - now: the current time, injected for tests.
    public static func parse(_ value: String?, now: Date = Date()) -> Duration? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) {
            return seconds(Int64(text) ?? .max)
        }
        guard let date = httpDate(text) else { return nil }
        let interval = date.timeIntervalSince(now)
        guard interval > 0 else { return .zero }
        guard interval < Double(maximum.components.seconds) else { return maximum }
        return .milliseconds(Int64((interval * 1000).rounded(.up)))
    }

    /// The longest delay Sluice honours: one hour. A step waiting out a `Retry-After` holds its place in
    /// the gate and its ordering key's lane, so a gateway's `Retry-After: 2147483647` must not park it for
    /// decades; after an hour the step asks again (and the server may ask for more).
    public static let maximum = Duration.seconds(3_600)

    /// A delay given in whole seconds (the header, or a body's `retry_after_seconds`), capped at
    /// ``maximum``; nil when negative.
    public static func seconds(_ seconds: Int64) -> Duration? {
        guard seconds >= 0 else { return nil }
        return .seconds(min(seconds, Int64(maximum.components.seconds)))
    }

    /// Parses the three date formats HTTP allows (IMF-fixdate, RFC 850, asctime).
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
