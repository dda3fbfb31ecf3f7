import Foundation
import SluiceLaunch
import UnixSignals

/// `sluice dev`'s SIGTERM, SIGINT and SIGHUP, from its first step to its last, so that its children (the Temporal dev
/// server and the sample worker) never outlive it.
///
/// Without it, a signal during start-up (up to a minute and a half for Temporal and the worker) takes the
/// default action: the process dies at once and leaves both children running. The first signal runs the action
/// set for the current phase: cancel the start-up (whose failure paths stop what it started), or shut the
/// service down as `sluice serve` does. A second signal runs its own action (stop the children at once, then
/// exit).
public actor DevShutdown {
    private var received = 0
    private var onFirst: @Sendable () async -> Void = {}
    private var onSecond: @Sendable () async -> Void = {}

    private init() {}

    /// Starts watching; signals are trapped once this returns.
    public static func watch() async -> DevShutdown {
        let shutdown = DevShutdown()
        // A hang-up too (the terminal closed, an SSH session dropped): by default it would end this process and leave
        // its children running.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
        await shutdown.startWatching(signals)
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

    /// Kills this process's children at once (SIGKILL), those it has started so far, whoever holds them: what a
    /// second signal does while the start-up is still launching them. Reads `/proc`; elsewhere, does nothing.
    public static func killChildren() {
        for child in ProcessTable.children(of: getpid()) { kill(child.pid, SIGKILL) }
    }
}
