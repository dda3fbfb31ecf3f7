import ArgumentParser
import Foundation
import Logging
import SluiceKafka

struct Produce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Produce the lines of a JSON Lines file to a Kafka topic (one record per line).",
        discussion: """
            Feeds a topic for development and tests, for example the embedded cluster of `sluice dev`. \
            The producer is idempotent with acks=all; the command returns once every record is stored. \
            Exit status: 0 when every line was produced, 2 otherwise (a line that is not JSON is reported \
            with its number before anything is sent; a record the broker did not store, with its line and \
            how many were stored).
            """
    )

    @Option(name: .long, help: "The bootstrap servers (host:port[,host:port…]).")
    var bootstrapServers: String = "127.0.0.1:9092"

    @Option(name: .long, help: "The topic.")
    var topic: String

    @Option(name: .long, help: ArgumentHelp("The JSON Lines file ('-' for standard input).", valueName: "PATH"))
    var file: String

    @Option(name: .long, help: "Key each record by this top-level member of its JSON object.")
    var keyMember: String?

    @Option(name: .customLong("property"), help: ArgumentHelp("A librdkafka property (repeatable).", valueName: "NAME=VALUE"))
    var properties: [String] = []

    func run() async throws {
        var logger = Logger(label: "sluice.produce")
        // Warnings too: an enforced producer property given otherwise (acks, idempotence) is named.
        logger.logLevel = .warning
        do {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            var parsed: [String: String] = [:]
            for property in properties {
                let parts = property.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("--property needs NAME=VALUE, got '\(property)'") }
                parsed[String(parts[0])] = String(parts[1])
            }
            let producer = try KafkaProducer(bootstrapServers: bootstrapServers, properties: parsed, logger: logger)
            let result: Result<KafkaProducer.JSONLinesReport, any Error>
            do {
                result = .success(try await producer.produceJSONLines(data, topic: topic, keyMember: keyMember))
            } catch {
                result = .failure(error)
            }
            await producer.shutdown()
            let report = try result.get()
            print("produced \(report.produced) records to \(topic)")
        } catch let error as ValidationError {
            throw error
        } catch let error as KafkaProducer.JSONLinesError {
            FileHandle.standardError.write(Data("error: \(file == "-" ? "standard input" : file): \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
