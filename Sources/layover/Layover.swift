import ArgumentParser

/// The `layover` command: `serve` (the default) runs the proxy.
@main
struct Layover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layover",
        abstract: "A caching proxy for container registries.",
        subcommands: [Serve.self, Queue.self],
        defaultSubcommand: Serve.self)
}
