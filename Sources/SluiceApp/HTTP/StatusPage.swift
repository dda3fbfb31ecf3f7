import Foundation
import SluiceCore

/// The status page at `/`: each adapter's boundary (in flight and queued against the limits), its
/// rates, recent outcomes and dead letters, and the health of the ledger and engines, with small
/// inline SVG charts. Server-rendered HTML with no script and no external asset; the page reloads
/// itself every few seconds.
public struct StatusPage: Sendable {
    public let health: HealthMonitor
    let pipelines: [AdapterPipeline]
    let ledger: any OutcomeLedger
    let refreshSeconds: Int
    let startedAt: Date

    init(health: HealthMonitor, pipelines: [AdapterPipeline], ledger: any OutcomeLedger, refreshSeconds: Int = 3) {
        self.health = health
        self.pipelines = pipelines.sorted { $0.adapter.name < $1.adapter.name }
        self.ledger = ledger
        self.refreshSeconds = refreshSeconds
        self.startedAt = Date()
    }

    /// The page as HTML.
    public func render() -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sluice status</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}
            h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:0 0 8px}
            .muted{color:#6b7480} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px}
            .card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px}
            table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;font-size:13px}
            .ok{color:#137333} .bad{color:#b3261e} .bar{height:10px;background:#eef0f3;border-radius:5px;overflow:hidden}
            .bar>span{display:block;height:10px;background:#3b6fd8} .bar.q>span{background:#d98b1e}
            .kv{display:grid;grid-template-columns:110px 1fr 90px;gap:4px 8px;align-items:center;margin:6px 0}
            code{font-size:12px}
            </style></head><body>
            <h1>Sluice</h1>
            <div class="muted">up since \(escape(Timestamp.format(startedAt))) · refreshed every \(refreshSeconds) s · \(pipelines.count) adapter\(pipelines.count == 1 ? "" : "s")</div>
            <h2 style="margin-top:16px">Health</h2><div class="card"><table>
            """
        let checks = health.checks
        if checks.isEmpty { html += "<tr><td class=\"muted\">not checked yet</td></tr>" }
        for check in checks {
            html += "<tr><td>\(escape(check.name))</td><td class=\"\(check.ok ? "ok" : "bad")\">\(check.ok ? "ok" : "unavailable")</td><td class=\"muted\">\(escape(check.detail))</td></tr>"
        }
        html += "</table></div><h2 style=\"margin-top:16px\">Adapters</h2><div class=\"grid\">"
        for pipeline in pipelines { html += adapterCard(pipeline) }
        html += "</div><h2 style=\"margin-top:16px\">Recent dead letters</h2><div class=\"card\"><table>"
        html += "<tr><th>#</th><th>adapter</th><th>reason</th><th>key</th><th>when</th></tr>"
        let letters = health.recentDeadLetters
        if letters.isEmpty { html += "<tr><td class=\"muted\" colspan=\"5\">none</td></tr>" }
        for letter in letters {
            html += "<tr><td>\(letter.id)</td><td>\(escape(letter.adapter))</td><td class=\"bad\">\(escape(letter.outcome.reason?.rawValue ?? letter.outcome.kind.rawValue))</td>"
                + "<td><code>\(escape(String(letter.idempotencyKey.prefix(40))))</code></td><td class=\"muted\">\(escape(Timestamp.format(letter.createdAt)))</td></tr>"
        }
        html += "</table><div class=\"muted\">re-drive with <code>sluice replay --dead-letters</code></div></div></body></html>\n"
        return html
    }

    private func adapterCard(_ pipeline: AdapterPipeline) -> String {
        let adapter = pipeline.adapter
        let boundary = adapter.boundary
        let history = health.history(adapter: adapter.name)
        let snapshot = health.snapshot(adapter: adapter.name)
        let counts = pipeline.counts
        let source: String
        switch adapter.source {
        case .webhook(let route): source = "webhook POST " + route.path
        case .kafka(let subscription): source = "kafka " + subscription.topics.joined(separator: ", ")
        }
        let inFlight = snapshot?.inFlight ?? 0
        let queued = snapshot?.queued ?? 0
        var card = """
            <div class="card" id="adapter-\(escape(adapter.name))"><h2>\(escape(adapter.name)) <span class="muted">v\(adapter.version)</span></h2>
            <div class="muted">\(escape(source)) · \(escape(boundary.mode.rawValue))\(snapshot?.cancelling.map { " · cancelling: " + escape($0) } ?? "")</div>
            <div class="kv"><span>in flight</span>\(bar(inFlight, of: boundary.maxInFlight, queued: false))<span>\(inFlight) / \(boundary.maxInFlight)</span>
            <span>queued</span>\(bar(queued, of: boundary.maxQueued, queued: true))<span>\(queued) / \(boundary.maxQueued)</span>
            <span>inbox</span><span class="muted">rows waiting for their outcome</span><span>\(health.inboxDepth(adapter: adapter.name))</span></div>
            <table><tr><th>received</th><th>accepted</th><th>duplicate</th><th>rejected</th><th>known</th><th>refused</th></tr>
            <tr><td>\(counts.received)</td><td>\(counts.accepted)</td><td>\(counts.duplicate)</td><td>\(counts.rejected)</td><td>\(counts.alreadyDecided)</td><td>\(snapshot?.refused ?? 0)</td></tr></table>
            """
        card += chart(history)
        let recent = pipeline.recentOutcomes.prefix(8)
        card += "<table><tr><th>recent outcome</th><th>key</th><th>workflow</th></tr>"
        if recent.isEmpty { card += "<tr><td class=\"muted\" colspan=\"3\">none yet</td></tr>" }
        for outcome in recent {
            let label = outcome.kind.rawValue + (outcome.reason.map { " · " + $0.rawValue } ?? "")
            let css = outcome.kind == .rejected ? "bad" : "ok"
            card += "<tr><td class=\"\(css)\">\(escape(label))</td><td><code>\(escape(String(outcome.idempotencyKey.prefix(40))))</code></td><td><code>\(escape(outcome.workflowID ?? "–"))</code></td></tr>"
        }
        card += "</table></div>"
        return card
    }

    private func bar(_ value: Int, of limit: Int, queued: Bool) -> String {
        let percent = limit > 0 ? min(100, value * 100 / limit) : 0
        return "<div class=\"bar\(queued ? " q" : "")\"><span style=\"width:\(percent)%\"></span></div>"
    }

    /// Events per second received and decided, and the gate's in-flight count, over the samples.
    private func chart(_ samples: [HealthMonitor.Sample]) -> String {
        let width = 400.0, height = 80.0
        guard samples.count >= 2 else {
            return "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"rates\"><text x=\"8\" y=\"44\" fill=\"#6b7480\">collecting samples…</text></svg>"
        }
        var received: [Double] = []
        var decided: [Double] = []
        for (previous, sample) in zip(samples, samples.dropFirst()) {
            let seconds = max(0.001, sample.at.timeIntervalSince(previous.at))
            received.append(Double(sample.counts.received - previous.counts.received) / seconds)
            let done = { (c: PipelineCounts) in c.accepted + c.duplicate + c.rejected + c.alreadyDecided }
            decided.append(Double(done(sample.counts) - done(previous.counts)) / seconds)
        }
        let inFlight = samples.dropFirst().map { Double($0.inFlight) }
        let peak = max(1, (received + decided).max() ?? 1)
        func line(_ values: [Double], scale: Double, color: String) -> String {
            let step = width / Double(max(1, values.count - 1))
            let points = values.enumerated().map { index, value in
                String(format: "%.1f,%.1f", Double(index) * step, height - 4 - (value / scale) * (height - 18))
            }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points)\"/>"
        }
        let lastRate = decided.last ?? 0
        return """
            <svg width="100%" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" preserveAspectRatio="none" role="img" aria-label="events per second">
            <rect width="100%" height="100%" fill="#fbfcfd"/>
            \(line(received, scale: peak, color: "#3b6fd8"))\(line(decided, scale: peak, color: "#137333"))\(line(inFlight, scale: max(1, inFlight.max() ?? 1), color: "#d98b1e"))
            </svg>
            <div class="muted" style="font-size:12px"><span style="color:#3b6fd8">■ received/s</span> <span style="color:#137333">■ decided/s</span> <span style="color:#d98b1e">■ in flight</span> · peak \(String(format: "%.0f", peak))/s, now \(String(format: "%.0f", lastRate))/s</div>
            """
    }

    /// `text` safe in HTML, scalar by scalar: a `Character` is a whole grapheme cluster, and one that starts with
    /// a prepend mark (U+0600) holds the `<` after it, so comparing characters would let the `<` through.
    func escape(_ text: String) -> String { Self.escape(text) }

    static func escape(_ text: String) -> String {
        var escaped = String.UnicodeScalarView()
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped.append(contentsOf: "&amp;".unicodeScalars)
            case "<": escaped.append(contentsOf: "&lt;".unicodeScalars)
            case ">": escaped.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": escaped.append(contentsOf: "&quot;".unicodeScalars)
            case "'": escaped.append(contentsOf: "&#39;".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}
