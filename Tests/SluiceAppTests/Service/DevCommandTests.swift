import Foundation
import Testing

/// `sluice dev`, the README's first command, as a newcomer runs it: a real Temporal dev server, the
/// sample worker, Sluice with the example adapters, and the signed feed; the summary must show
/// events accepted by the engine.
@Suite("sluice dev")
struct DevCommandTests {
    @Test("sluice dev starts everything, feeds signed samples, prints outcomes, and stops cleanly")
    func devRuns() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let result = try SluiceProcess.run(
            ["dev", "--http-port", "0", "--rounds", "3", "--feed-interval", "1s"], in: repository)
        #expect(result.status == 0, "stderr:\n\(result.standardError)")
        let output = result.standardOutput
        #expect(output.contains("status page: http://127.0.0.1:"))
        let lastRound = output.components(separatedBy: "\n\n").filter { $0.contains("stripe-orders") }.last ?? ""
        for adapter in ["stripe-orders", "shopify-orders", "slack-events"] {
            let line = lastRound.split(separator: "\n").first { $0.hasPrefix(adapter) } ?? ""
            let accepted = line.components(separatedBy: "accepted ").last?.split(separator: " ").first.flatMap { Int($0) } ?? 0
            #expect(accepted > 0, "\(adapter): \(line)\n\(output)")
        }
        #expect(output.contains("sluice dev: stopped"))
    }
}
