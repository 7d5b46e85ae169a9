import ArgumentParser
import Foundation
import LayoverConfig
import LayoverPull
import LayoverStore
import LayoverUpstream

/// `layover warm REF...`: pre-fills a store with images or BuildKit caches (manifests, configs,
/// layers), through a running Layover or straight into a store no server has open.
struct Warm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pre-fill the store with images or BuildKit caches (manifest, config and every layer).",
        discussion: """
            REF is written as clients write it through Layover: docker.io/library/alpine:3.20, \
            ghcr.io/org/app:buildcache, alpine (the default upstream), name@sha256:…. \
            With --server, pulls through that running Layover; otherwise opens the configured \
            store itself (it must not be in use by a running server).
            """)

    @Argument(help: "Images or caches to pull.")
    var references: [String]

    @Option(help: "A running Layover to pull through, e.g. http://127.0.0.1:5000.")
    var server: String?

    @Option(help: "Only this platform of a multi-platform image: os/arch or os/arch/variant.")
    var platform: String?

    @OptionGroup var options: ConfigurationOptions

    func validate() throws {
        if references.isEmpty { throw ValidationError("name at least one image or cache to warm") }
    }

    func run() async throws {
        let images = try references.map(ImageReference.init(parsing:))
        if let server {
            try await warm(images, through: ServerWarmSource(server: server))
            return
        }
        let configuration = try options.effectiveConfiguration()
        let store = try configuration.openStore()
        let http = RegistryClient.makeHTTPClient()
        let clients = configuration.upstreams.values.map { RegistryClient(upstream: $0, http: http) }
        let pull = PullService(store: store, upstreams: UpstreamDirectory(clients: clients, defaultUpstream: configuration.defaultUpstream))
        do {
            try await warm(images, through: StoreWarmSource(pull: pull))
        } catch {
            try? await http.shutdown()
            await store.closeCleanly()
            throw error
        }
        try await http.shutdown()
        await store.closeCleanly()
    }

    private func warm(_ images: [ImageReference], through source: any WarmSource) async throws {
        let warmer = Warmer(source: source, platform: platform)
        var failed = 0
        for image in images {
            let progress = ProgressLine(verb: "warming \(image)", total: 0)
            do {
                let summary = try await warmer.warm(image, progress: progress)
                progress.finish()
                let rate = progress.elapsed > 0 ? Int64(Double(summary.bytes) / progress.elapsed) : 0
                print("warmed \(image): \(summary.manifests) manifests, \(summary.blobs) blobs, "
                    + "\(ByteSize.format(summary.bytes)) in \(String(format: "%.1f", progress.elapsed)) s (\(ByteSize.format(rate))/s)")
            } catch {
                progress.finish()
                print("FAILED \(image): \(error)")
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
