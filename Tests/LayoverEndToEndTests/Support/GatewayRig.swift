import Foundation
import LayoverTestSupport

/// distribution's registry behind a `TokenGateway`, and Layover replicating to it (upstream
/// `up`) in chunks of `chunk`.
final class GatewayRig: @unchecked Sendable {
    let registry: UpstreamRegistry
    let gateway: TokenGateway
    let storage: TemporaryDirectory
    let directory: TemporaryDirectory
    let layover: LayoverProcess

    init(lifetime: Double, chunk: String, _ configure: @Sendable (inout TokenGateway.State) -> Void = { _ in }) async throws {
        registry = try await UpstreamRegistry()
        gateway = try await TokenGateway(registry: registry.url, lifetime: lifetime)
        gateway.state.withLock(configure)
        storage = try TemporaryDirectory()
        let arguments: [String]
        (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: \(gateway.url)\n    uploadChunkSize: \(chunk)\n")
        layover = try await LayoverProcess(upstreamURL: gateway.url, storage: storage.path + "/store", extraArguments: arguments)
    }

    func shutdown() {
        layover.stop(signal: SIGKILL)
        gateway.close()
        registry.stop()
        storage.remove()
        directory.remove()
    }
}
