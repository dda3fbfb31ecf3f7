public import UnixSignals

/// The process's stop signals, watched from its first step to its last.
///
/// `sluice serve` runs as PID 1 in its container, and PID 1 ignores a signal it has no handler for: without this,
/// a SIGTERM while the ledger opens (a PostgreSQL server slow to answer) went unanswered until the kill. `sluice
/// dev` must stop its children (the Temporal dev server and the sample worker) on any signal, during its start-up
/// (up to a minute and a half) too. The first signal runs the action set for the current phase: leave the
/// start-up, or shut the service down. A second signal runs its own action (exit at once).
public actor ShutdownSignals {
    private var received = 0
    private var onFirst: @Sendable () async -> Void = {}
    private var onSecond: @Sendable () async -> Void = {}

    private init() {}

    /// Starts watching `signals`; they are trapped once this returns.
    public static func watch(_ signals: UnixSignal...) async -> ShutdownSignals {
        let shutdown = ShutdownSignals()
        await shutdown.startWatching(await UnixSignalsSequence(trapping: signals))
        return shutdown
    }

    /// Watches for the rest of the process's life.
    private func startWatching(_ signals: UnixSignalsSequence) {
        Task { [weak self] in
            for await _ in signals {
                guard let self else { return }
                await self.signalled()
            }
        }
    }

    private func signalled() async {
        received += 1
        if received == 1 {
            await onFirst()
        } else if received == 2 {
            await onSecond()
        }
    }

    /// Whether a signal has come.
    public var isSignalled: Bool { received > 0 }

    /// What the first signal does from now on; run at once when it has already come.
    public func onSignal(_ action: @escaping @Sendable () async -> Void) async {
        onFirst = action
        if received > 0 { await action() }
    }

    /// What a second signal does from now on.
    public func onSecondSignal(_ action: @escaping @Sendable () async -> Void) {
        onSecond = action
    }
}
