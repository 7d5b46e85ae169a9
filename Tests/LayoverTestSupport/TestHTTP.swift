import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Our own client code speaking real HTTP to the registry and to Layover.
public struct TestHTTP: Sendable {
    public static let shared = TestHTTP()
    public let client: HTTPClient

    public init() {
        // A peer closing mid-write must fail that request, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(60)))
        configuration.decompression = .disabled
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    public func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(120))
        let collected = try await response.body.collect(upTo: 512 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }

    public func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send(.GET, url, headers: headers)
    }

    public func head(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send(.HEAD, url, headers: headers)
    }

    /// Streams a GET, hashing the body without keeping it; returns status, bytes seen and digest.
    public func streamedDigest(_ url: String) async throws -> (status: Int, count: Int, digest: String) {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(300))
        var hasher = SHA256()
        var count = 0
        for try await chunk in response.body {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            count += chunk.readableBytes
        }
        return (Int(response.status.code), count, Self.digest(hasher))
    }

    public static func digest(_ hasher: SHA256) -> String {
        "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    public static func digest(of bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: bytes)
        return digest(hasher)
    }
}
