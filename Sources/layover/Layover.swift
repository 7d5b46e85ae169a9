import ArgumentParser

/// The `layover` command: `serve` (the default) runs the proxy; `status` and `queue` ask a
/// running one; `verify` re-hashes a store; `warm` pre-fills one.
@main
struct Layover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layover",
        abstract: "A caching proxy for container registries.",
        subcommands: [Serve.self, Status.self, Queue.self, Caches.self, Verify.self, Warm.self, CA.self],
        defaultSubcommand: Serve.self)
}
