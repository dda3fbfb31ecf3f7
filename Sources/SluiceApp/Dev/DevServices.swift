import AsyncHTTPClient
import Foundation
import Logging
import SluiceKafka
public import ServiceLifecycle
public import SluiceCore

/// Posts a round of signed sample webhooks every `interval` until shutdown.
struct DevFeedService: Service {
    let makeFeed: @Sendable () -> DevFeed
    let interval: Duration

    func run() async {
        let feed = makeFeed()
        // Let the server and the re-admission start first.
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        var round = 1
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            // A shutdown cuts a round short (between samples): the feed never holds the service group up.
            let number = round
            await cancelWhenGracefulShutdown {
                _ = await feed.round(number)
                await feed.kafkaRound(number)
            }
            round += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        try? await feed.http.shutdown()
        await feed.producer?.shutdown()
    }
}

/// Prints a live summary of every adapter (outcomes by kind, rates) every `interval`.
public struct DevSummaryService: Service {
    let pipelines: [String: AdapterPipeline]
    let statusURL: String
    let interval: Duration
    /// Stop after this many summaries (the group then shuts down gracefully); nil: until Ctrl-C.
    let rounds: Int?
    let write: @Sendable (String) -> Void

    public init(
        pipelines: [String: AdapterPipeline], statusURL: String, interval: Duration = .seconds(3), rounds: Int? = nil,
        write: @escaping @Sendable (String) -> Void = { print($0) }
    ) {
        self.pipelines = pipelines
        self.statusURL = statusURL
        self.interval = interval
        self.rounds = rounds
        self.write = write
    }

    public func run() async {
        var previous: [String: PipelineCounts] = [:]
        var last = ContinuousClock.now
        write("status page: \(statusURL)   (Ctrl-C stops everything)")
        var printed = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled, printed < (rounds ?? .max) {
            printed += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            let now = ContinuousClock.now
            let seconds = max(0.001, Double((now - last).components.seconds) + Double((now - last).components.attoseconds) / 1e18)
            last = now
            var lines: [String] = []
            for name in pipelines.keys.sorted() {
                let counts = pipelines[name]!.counts
                let before = previous[name] ?? PipelineCounts()
                previous[name] = counts
                let rate = Double(counts.received - before.received) / seconds
                lines.append(
                    name.padding(toLength: 20, withPad: " ", startingAt: 0)
                        + " received \(counts.received)  accepted \(counts.accepted)  duplicate \(counts.duplicate)"
                        + "  rejected \(counts.rejected)  known \(counts.alreadyDecided)  "
                        + String(format: "%.1f/s", rate))
            }
            write(lines.joined(separator: "\n") + "\n")
        }
    }
}
