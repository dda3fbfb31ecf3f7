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
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
    ],
    targets: [
        // Pure domain: events, adapters, expressions, plans, outcomes. No I/O.
        .target(
            name: "SluiceCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: upcoming
        ),
        // Configuration loading, validation and the dry-run mapper used by the CLI.
        .target(
            name: "SluiceApp",
            dependencies: ["SluiceCore"],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceApp",
                "SluiceCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
        .testTarget(
            name: "SluiceCoreTests",
            dependencies: ["SluiceCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SluiceAppTests",
            dependencies: ["SluiceApp", "SluiceCore"],
            swiftSettings: upcoming
        ),
    ]
)
