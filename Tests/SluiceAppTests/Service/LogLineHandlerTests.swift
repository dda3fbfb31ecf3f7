import Foundation
import Logging
import SluiceApp
import SluiceCore
import Testing

@Suite struct LogLineHandlerTests {
    static let time = Date(timeIntervalSince1970: 1_700_000_000)

    static func event(_ message: Logger.Message, metadata: Logger.Metadata? = nil) -> LogEvent {
        LogEvent(
            level: .warning, message: message, metadata: metadata, source: "SluiceApp", file: #fileID,
            function: #function, line: #line)
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func textLinesCarryTheMetadataSetOnTheLoggerAndTheCallSortedByKey() {
        var handler = LogLineHandler(label: "sluice", format: .text)
        handler[metadataKey: "hb.request.id"] = "42"
        handler[metadataKey: "adapter"] = "stripe"
        let line = Self.text(handler.line(for: Self.event("accepted", metadata: ["event_id": "evt_1"]), at: Self.time))
        #expect(line == "2023-11-14T22:13:20.000Z warning sluice : adapter=stripe event_id=evt_1 hb.request.id=42 [SluiceApp] accepted\n")
    }

    @Test func textLinesWithoutMetadata() {
        let handler = LogLineHandler(label: "sluice", format: .text)
        #expect(Self.text(handler.line(for: Self.event("ready"), at: Self.time)) == "2023-11-14T22:13:20.000Z warning sluice : [SluiceApp] ready\n")
    }

    @Test func jsonLinesAreOneObjectWithTheCallsMetadataWinning() throws {
        var handler = LogLineHandler(label: "sluice", format: .json)
        handler[metadataKey: "adapter"] = "stripe"
        let bytes = handler.line(for: Self.event("say \"hi\"", metadata: ["adapter": "github", "n": ["1", "2"]]), at: Self.time)
        #expect(bytes.last == UInt8(ascii: "\n"))
        let object = try #require(try JSONParser.parse(Array(bytes.dropLast())).objectValue)
        #expect(object["time"]?.stringValue == "2023-11-14T22:13:20.000Z")
        #expect(object["level"]?.stringValue == "warning")
        #expect(object["logger"]?.stringValue == "sluice")
        #expect(object["message"]?.stringValue == "say \"hi\"")
        #expect(object["adapter"]?.stringValue == "github")
        #expect(object["n"] == .array([.string("1"), .string("2")]))
    }
}
