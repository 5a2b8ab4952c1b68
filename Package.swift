// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "dppsync",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DPPSync", targets: ["DPPSync"]),
        .executable(name: "dppsync", targets: ["dppsync"]),
        .executable(name: "dppsync-workload", targets: ["dppsync-workload"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(
            name: "CLibDeflate",
            pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        .target(
            name: "CSQLiteSetup",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "DPPSync",
            dependencies: [
                "CLibXML2",
                "CSQLiteSetup",
                "CLibDeflate",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "dppsync",
            dependencies: [
                "DPPSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dppsync-workload",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "DPPSyncTests",
            dependencies: ["DPPSync", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Ledger/Fixtures"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["DPPSync", "dppsync", "dppsync-workload", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
