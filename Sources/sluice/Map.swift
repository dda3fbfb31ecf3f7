import ArgumentParser
import Foundation
import SluiceApp
import SluiceCore

struct Map: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map a sample event with an adapter and print the engine requests, without any network.",
        discussion: """
            Prints the plan as JSON: the matching rule, the idempotency and ordering keys, and for each \
            step the exact Durable Workflow bridge requests (method, path, headers, body). Works on a \
            lone adapter file; engine names are not resolved.

            The event file is the body as the source delivers it (webhook body or Kafka record value). \
            Headers carry what providers put there (X-GitHub-Event, ce-type…).

            Exit status: 0 for a plan, 1 when the event is rejected (unmatched or malformed), \
            2 when the adapter or the event file cannot be read.
            """
    )

    @Option(name: .long, help: "The adapter file.")
    var adapter: String

    @Option(name: .long, help: "The event body file ('-' for standard input).")
    var event: String

    @Option(name: .customLong("header"), help: ArgumentHelp("A header, as NAME:VALUE (repeatable).", valueName: "NAME:VALUE"))
    var headers: [String] = []

    @Option(name: .long, help: "Kafka adapters: the topic (default: the adapter's first topic).")
    var kafkaTopic: String?

    @Option(name: .long, help: "Kafka adapters: the partition.")
    var kafkaPartition: Int32 = 0

    @Option(name: .long, help: "Kafka adapters: the offset.")
    var kafkaOffset: Int64 = 0

    @Option(name: .long, help: "Kafka adapters: the record key.")
    var kafkaKey: String?

    @Option(name: .long, help: "Kafka adapters: the record's timestamp (RFC 3339), part of a plain record's id; default none.")
    var kafkaTimestamp: String?

    @Option(name: .long, help: "Webhook adapters: a query string, such as 'a=1&b=2'.")
    var query: String?

    @Option(name: .long, help: "When the event was received (RFC 3339); default now.")
    var receivedAt: String?

    func run() throws {
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let loaded = ProjectLoader(resolution: .lenient).load(paths: [adapter], directory: directory, readsConfiguration: false)
        guard let compiled = loaded.adapters?.adapters.first else {
            for diagnostic in loaded.diagnostics where diagnostic.severity == .error {
                FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8))
            }
            throw ExitCode(2)
        }
        var headerFields = HeaderFields()
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw ValidationError("--header '\(header)' is not NAME:VALUE")
            }
            headerFields.append(
                name: String(header[..<colon]).trimmingCharacters(in: .whitespaces),
                value: String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        let body: Data?
        if event == "-" {
            body = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            body = FileManager.default.contents(atPath: event)
        }
        guard let body else {
            FileHandle.standardError.write(Data("\(event): cannot read the event file\n".utf8))
            throw ExitCode(2)
        }
        var received = Date()
        if let receivedAt {
            guard let date = Timestamp.parse(receivedAt) else {
                throw ValidationError("--received-at '\(receivedAt)' is not an RFC 3339 time such as 2026-01-31T12:00:00Z")
            }
            received = date
        }
        var stamp: Date?
        if let kafkaTimestamp {
            guard let date = Timestamp.parse(kafkaTimestamp) else {
                throw ValidationError("--kafka-timestamp '\(kafkaTimestamp)' is not an RFC 3339 time such as 2026-01-31T12:00:00Z")
            }
            stamp = date
        }
        let delivery = DryRun.Delivery(
            body: Array(body), headers: headerFields, kafkaTopic: kafkaTopic, kafkaPartition: kafkaPartition,
            kafkaOffset: kafkaOffset, kafkaKey: kafkaKey, kafkaTimestamp: stamp, query: query, receivedAt: received)
        let sample: Event
        do {
            sample = try DryRun.event(for: compiled, delivery: delivery)
        } catch {
            FileHandle.standardError.write(Data("\(event): \(error)\n".utf8))
            throw ExitCode(2)
        }
        let (json, decision) = DryRun.report(adapter: compiled, event: sample)
        print(JSONWriter.prettyString(json))
        if decision.plan == nil { throw ExitCode(1) }
    }
}
