/// How pushes to an upstream are replicated.
public enum PushMode: String, Sendable, Codable, CaseIterable {
    /// Acknowledge once safe on local disk; replicate in the background (the default).
    case async
    /// Acknowledge a manifest only after the upstream accepted it.
    case sync
    /// Keep locally, never replicate: a private cache namespace.
    case local
}
