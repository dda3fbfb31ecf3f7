// swift-tools-version:6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .library(name: "SluiceCore", targets: ["SluiceCore"]),
        .library(name: "SluiceEngines", targets: ["SluiceEngines"]),
        .library(name: "SluiceTesting", targets: ["SluiceTesting"]),
        .library(name: "SluiceLedger", targets: ["SluiceLedger"]),
        .library(name: "SluiceWebhooks", targets: ["SluiceWebhooks"]),
        .library(name: "SluiceKafka", targets: ["SluiceKafka"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // OTLP/HTTP only: the gRPC exporter would pull in grpc-swift for nothing.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.0.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Pure domain: events, adapters, expressions, plans, outcomes. No I/O.
        .target(
            name: "SluiceCore",
            dependencies: [
                "CSluiceThreadName",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // pthread_setname_np, which Glibc's Swift module does not export (it needs _GNU_SOURCE).
        .target(name: "CSluiceThreadName"),
        // Child processes Sluice launches: the Temporal dev server (`sluice dev`, tests), free ports.
        .target(
            name: "SluiceLaunch",
            swiftSettings: upcoming
        ),
        // Configuration, the composition root (`buildApplication(config:)`), the service group, the
        // operations routes (metrics, health, status page), and the dry-run mapper used by the CLI.
        .target(
            name: "SluiceApp",
            dependencies: [
                "SluiceCore", "SluiceLedger", "SluiceEngines", "SluiceLaunch", "SluiceWebhooks", "SluiceKafka",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: upcoming
        ),
        // Engine clients: Durable Workflow (bridge endpoint, control plane) and Temporal's HTTP API.
        .target(
            name: "SluiceEngines",
            dependencies: [
                "SluiceCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // Fakes and fixtures for tests: a Durable Workflow server fake over real loopback HTTP,
        // a scripted HTTP server for faults, launchers for the Temporal dev server and its worker,
        // and the in-memory ledger.
        .target(
            name: "SluiceTesting",
            dependencies: [
                "SluiceCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceApp",
                "SluiceCore",
                "SluiceEngines",
                "SluiceLedger",
                "SluiceLaunch",
                "SluiceKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "SluiceBenchmarks",
            dependencies: ["SluiceCore", "SluiceApp"],
            path: "Benchmarks/Sources/SluiceBenchmarks",
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "GateBenchmark",
            dependencies: ["SluiceCore"],
            path: "Benchmarks/Sources/GateBenchmark",
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "DispatcherBenchmark",
            dependencies: ["SluiceCore"],
            path: "Benchmarks/Sources/DispatcherBenchmark",
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                "SluiceCore",
                "SluiceEngines",
                "SluiceTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/Sources/EngineBenchmarks",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceCoreTests",
            dependencies: ["SluiceCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceAppTests",
            dependencies: [
                "SluiceApp", "SluiceCore", "SluiceLedger", "SluiceTesting", "SluiceEngines", "SluiceLaunch", "SluiceKafka",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: upcoming
        ),
        // MARK: - Ledger
        // The system SQLite (libsqlite3-dev), bound directly: see Sources/SluiceLedger/SQLite/.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Durable outcomes, idempotency, inbox and dead letters: SQLite (default) and PostgreSQL.
        .target(
            name: "SluiceLedger",
            dependencies: [
                "SluiceCore",
                "CSQLite",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // Writes outcomes until it is killed: the child process of the ledger's crash-safety test.
        .executableTarget(
            name: "LedgerCrashHelper",
            dependencies: ["SluiceCore", "SluiceLedger"],
            path: "Tests/LedgerCrashHelper",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceLedgerTests",
            dependencies: [
                "SluiceCore", "SluiceLedger", "SluiceTesting", "SluiceApp", "LedgerCrashHelper",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "LedgerBenchmarks",
            dependencies: ["SluiceCore", "SluiceLedger", "CSQLite", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/Sources/LedgerBenchmarks",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceEnginesTests",
            dependencies: [
                "SluiceEngines",
                "SluiceLaunch",
                "SluiceCore",
                "SluiceTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Worker", "Fixtures"],
            swiftSettings: upcoming
        ),
        // MARK: - Webhooks
        // Verified third-party webhooks (one verifier per scheme), their Hummingbird routes, and the
        // Durable Workflow-compatible bridge endpoint.
        .target(
            name: "SluiceWebhooks",
            dependencies: [
                "SluiceCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: upcoming
        ),
        // Webhook route vs nginx: an open-loop load generator and the route over the SQLite inbox.
        .executableTarget(
            name: "WebhookBenchmark",
            dependencies: [
                "SluiceCore", "SluiceWebhooks", "SluiceLedger", "SluiceApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/Sources/WebhookBenchmark",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceWebhooksTests",
            dependencies: [
                "SluiceWebhooks",
                "SluiceCore",
                "SluiceLedger",
                "SluiceTesting",
                "SluiceLaunch",
                "SluiceEngines",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: upcoming
        ),
        // MARK: - Kafka
        // The system librdkafka (librdkafka-dev), bound directly: rdkafka.h and rdkafka_mock.h.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The Kafka source (consumer group, commit after outcome, pause/resume, rebalance drain),
        // the dead-letter producer and the embedded dev cluster (librdkafka's mock cluster).
        .target(
            name: "SluiceKafka",
            dependencies: [
                "SluiceCore",
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // Consumes from the mock cluster until it is killed: the child process of the Kafka SIGKILL test.
        .executableTarget(
            name: "KafkaCrashHelper",
            dependencies: ["SluiceCore", "SluiceKafka", "SluiceLedger"],
            path: "Tests/KafkaCrashHelper",
            swiftSettings: upcoming
        ),
        // Kafka throughput: a plain C consumer vs the source alone vs end to end (Benchmarks/kafka/run).
        .executableTarget(
            name: "KafkaBenchmarks",
            dependencies: ["SluiceCore", "SluiceKafka", "SluiceLedger", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/Sources/KafkaBenchmarks",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceKafkaTests",
            dependencies: [
                "SluiceKafka", "SluiceCore", "SluiceLedger", "SluiceTesting", "SluiceLaunch", "CRdKafka", "KafkaCrashHelper",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
    ]
)
