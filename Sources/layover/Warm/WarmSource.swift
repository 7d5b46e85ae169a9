import LayoverWire

/// Where `warm` pulls through: a running Layover over HTTP, or a store opened in-process.
/// Either way the content lands in a store, verified, by the same path a client's pull takes.
protocol WarmSource: Sendable {
    /// The manifest (or index) `reference` names in repository `name`.
    func manifest(_ name: String, _ reference: Reference) async throws -> Manifest

    /// Pulls blob `digest` of repository `name` to the end, reporting bytes as they move.
    func blob(_ name: String, _ digest: Digest, progress: @Sendable (Int) -> Void) async throws
}
