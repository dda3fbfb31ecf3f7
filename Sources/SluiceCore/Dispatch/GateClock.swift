/// A clock seen as ``GateInstant``s: the instants the gate's runtime takes, counted from when the
/// dispatcher was made. Wraps any `Clock` (the continuous clock in production, a manual clock in
/// tests) so that the dispatcher itself is not generic.
struct GateClock: Sendable {
    /// The time since the origin.
    let elapsed: @Sendable () -> Duration
    /// Sleeps until the given time since the origin; throws when the task is cancelled.
    let sleepUntil: @Sendable (Duration) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleepUntil = { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) }
    }

    var now: GateInstant { GateInstant(offset: elapsed()) }

    func sleep(until instant: GateInstant) async throws {
        try await sleepUntil(GateInstant.zero.duration(to: instant))
    }
}
