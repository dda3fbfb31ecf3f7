public import Foundation

/// How long a decision answers for its idempotency key, per adapter (default: forever, until
/// retention prunes it). Past the window, the key may be decided again.
public struct DedupePolicy: Sendable, Hashable {
    /// The window for adapters not listed; nil means forever.
    public var defaultWindow: Duration?
    public var windows: [String: Duration]

    public init(defaultWindow: Duration? = nil, windows: [String: Duration] = [:]) {
        self.defaultWindow = defaultWindow
        self.windows = windows
    }

    /// The adapter's window, nil for forever.
    public func window(for adapter: String) -> Duration? {
        windows[adapter] ?? defaultWindow
    }

    /// Whether a decision recorded at `recordedAt` still answers for its key at `now`.
    public func isLive(adapter: String, recordedAt: Date, now: Date) -> Bool {
        guard let window = window(for: adapter) else { return true }
        return now.timeIntervalSince(recordedAt) < window.timeInterval
    }
}
