// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Layover",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "layover", targets: ["layover"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Only its small C bcrypt target (HummingbirdBcrypt) is built.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        // Tests only: property-based tests of the parsers and the upload machine.
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        /// A lock ThreadSanitizer can follow (a pthread mutex), for every module's shared state.
        .target(name: "LayoverLocks"),
        /// The metrics Layover emits (swift-metrics API) and the in-process tally for the status page.
        .target(
            name: "LayoverMetrics",
            dependencies: [
                "LayoverLocks",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        /// Intercept mode's certificate authority: the CA made once, and leaf certificates for the
        /// registry hosts clients CONNECT to, made on demand and cached.
        .target(
            name: "LayoverIntercept",
            dependencies: [
                "LayoverLocks",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        /// OCI wire types: names, digests, references, manifests, errors. No I/O.
        .target(
            name: "LayoverWire",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// The content-addressed blob store, its SQLite index and LRU eviction.
        .target(
            name: "LayoverStore",
            dependencies: [
                "LayoverLocks",
                "LayoverMetrics",
                "LayoverWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The client for upstream registries: token auth, redirects, retries.
        .target(
            name: "LayoverUpstream",
            dependencies: [
                "LayoverLocks",
                "LayoverMetrics",
                "LayoverWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The pull-through service: coalesced misses, tag revalidation, repository links.
        .target(
            name: "LayoverPull",
            dependencies: [
                "LayoverLocks",
                "LayoverMetrics",
                "LayoverWire",
                "LayoverStore",
                "LayoverUpstream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Write-back pushes: upload sessions, manifest pushes, the durable replication queue.
        .target(
            name: "LayoverPush",
            dependencies: [
                "LayoverLocks",
                "LayoverMetrics",
                "LayoverWire",
                "LayoverStore",
                "LayoverUpstream",
                "LayoverPull",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The fleet: members, rendezvous owners, peer fill and forwarding between nodes (DESIGN §8).
        .target(
            name: "LayoverFleet",
            dependencies: [
                "LayoverLocks",
                "LayoverMetrics",
                "LayoverWire",
                "LayoverStore",
                "LayoverUpstream",
                "LayoverPull",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Client authentication and rights: htpasswd (bcrypt) users, tokens, rules. No NIO.
        .target(
            name: "LayoverAuth",
            dependencies: [
                "LayoverLocks",
                "LayoverWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The HTTP front on SwiftNIO: router, OCI handlers, sendfile bodies.
        .target(
            name: "LayoverHTTP",
            dependencies: [
                "LayoverIntercept",
                "LayoverLocks",
                "LayoverAuth",
                "LayoverMetrics",
                "LayoverWire",
                "LayoverStore",
                "LayoverPull",
                "LayoverPush",
                "LayoverFleet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Configuration: the embedded default, the YAML file, the environment and flags.
        .target(
            name: "LayoverConfig",
            dependencies: [
                "LayoverAuth",
                "LayoverWire",
                "LayoverUpstream",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        /// The `layover` executable: the only place where the pieces are wired together.
        .executableTarget(
            name: "layover",
            dependencies: [
                "LayoverIntercept",
                "LayoverLocks",
                "LayoverAuth",
                "LayoverMetrics",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                "LayoverWire",
                "LayoverStore",
                "LayoverUpstream",
                "LayoverPull",
                "LayoverHTTP",
                "LayoverPush",
                "LayoverFleet",
                "LayoverConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "LayoverWireTests", dependencies: ["LayoverWire", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "LayoverMetricsTests", dependencies: ["LayoverMetrics"]),
        /// The files under deploy/ parse and say what they must.
        .testTarget(name: "LayoverDeployTests", dependencies: ["LayoverConfig", "LayoverTestSupport", .product(name: "Yams", package: "Yams")]),
        /// The `layover` command's own parts: references, the status table, the warm walk.
        .testTarget(name: "layoverTests", dependencies: ["layover", "LayoverHTTP", "LayoverMetrics", "LayoverUpstream", "LayoverWire"]),
        .testTarget(name: "LayoverStoreTests", dependencies: ["LayoverLocks", "LayoverStore", "LayoverWire"]),
        .testTarget(name: "LayoverPullTests", dependencies: ["LayoverLocks", "LayoverPull", "LayoverWire"]),
        .testTarget(name: "LayoverConfigTests", dependencies: ["LayoverAuth", "LayoverConfig", "LayoverUpstream"]),
        .testTarget(name: "LayoverInterceptTests", dependencies: ["LayoverIntercept", .product(name: "X509", package: "swift-certificates")]),
        .testTarget(name: "LayoverFleetTests", dependencies: ["LayoverFleet", "LayoverLocks", "LayoverStore", "LayoverWire"]),
        .testTarget(name: "LayoverAuthTests", dependencies: ["LayoverLocks", "LayoverAuth", "LayoverWire"]),
        .testTarget(name: "LayoverUpstreamTests", dependencies: ["LayoverLocks", "LayoverUpstream", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "LayoverHTTPTests", dependencies: [
            "LayoverHTTP", .product(name: "PropertyBased", package: "swift-property-based"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "NIOHPACK", package: "swift-nio-http2"),
        ]),
        .testTarget(name: "LayoverPushTests", dependencies: ["LayoverPush", "LayoverStore", "LayoverWire", .product(name: "PropertyBased", package: "swift-property-based")]),
        /// Real parts for end-to-end tests and benchmarks: distribution's registry, the layover
        /// process, a counting relay, an HTTP client that seeds and pulls.
        .target(
            name: "LayoverTestSupport",
            dependencies: [
                "LayoverLocks",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/LayoverTestSupport"
        ),
        /// `layover-bench`: Layover beside distribution's registry (proxy mode) and nginx.
        .executableTarget(
            name: "layover-bench",
            dependencies: [
                "LayoverTestSupport",
                // The scale scenario seeds stores through the store's own bulk path.
                "LayoverStore",
                "LayoverWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "loadtests/Sources/layover-bench"
        ),
        .testTarget(
            name: "LayoverEndToEndTests",
            dependencies: [
                "LayoverTestSupport",
                // The fleet tests compute owners the way the nodes do.
                "LayoverFleet",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
