/// Durations written as text: `250ms`, `2s`, `5m`, `1h`, `1m30s`, `1.5s`.
import Foundation

public enum DurationText {
    /// Parses a duration; nil when the text is not one. A bare `0` is zero.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "0" { return .zero }
        var total = Duration.zero
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else { return false }
            let nanosecondsPerUnit: Double
            switch unit {
            case "ns": nanosecondsPerUnit = 1
            case "us", "µs": nanosecondsPerUnit = 1_000
            case "ms": nanosecondsPerUnit = 1_000_000
            case "s": nanosecondsPerUnit = 1_000_000_000
            case "m": nanosecondsPerUnit = 60_000_000_000
            case "h": nanosecondsPerUnit = 3_600_000_000_000
            case "d": nanosecondsPerUnit = 86_400_000_000_000
            default: return false
            }
            let nanoseconds = value * nanosecondsPerUnit
            guard nanoseconds < 9e18 else { return false }
            total += .nanoseconds(Int64(nanoseconds.rounded()))
            number = ""
            unit = ""
            sawAny = true
            return true
        }
        for character in trimmed {
            if character.isASCII, character.isNumber || character == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(character)
            } else if character.isLetter || character == "µ" {
                guard !number.isEmpty else { return nil }
                unit.append(character)
            } else {
                return nil
            }
        }
        guard flush(), sawAny else { return nil }
        return total
    }

    /// A duration as the shortest text `parse` reads back: `200ms`, `2s`, `5m`.
    ///
    /// A duration too long to count in nanoseconds (about 292 years; an engine's `Retry-After` can say
    /// anything) is written in whole seconds, hours or minutes, never trapping.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow, case (let nanoseconds, false) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        else {
            for (unit, size) in [("h", Int64(3_600)), ("m", 60)] where seconds % size == 0 {
                return "\(seconds / size)\(unit)"
            }
            return "\(seconds)s"
        }
        if nanoseconds == 0 { return "0s" }
        for (unit, size) in [("h", Int64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000),
            ("ms", 1_000_000), ("us", 1_000)] where nanoseconds % size == 0
        {
            return "\(nanoseconds / size)\(unit)"
        }
        return "\(nanoseconds)ns"
    }

    /// Whole seconds, rounded up (engines take seconds).
    public static func seconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return attoseconds > 0 && seconds < .max ? seconds + 1 : seconds
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    public var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
