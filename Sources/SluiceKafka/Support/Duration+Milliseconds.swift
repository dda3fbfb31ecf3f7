extension Duration {
    /// In whole milliseconds, as librdkafka's timeouts take them: the fraction of a second included, clamped to
    /// `0...Int32.max`.
    var clampedMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let millis = seconds.multipliedReportingOverflow(by: 1_000)
        guard !millis.overflow else { return seconds > 0 ? .max : 0 }
        return Int32(clamping: max(0, millis.partialValue + attoseconds / 1_000_000_000_000_000))
    }
}
