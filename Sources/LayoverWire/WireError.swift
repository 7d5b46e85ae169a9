/// Why a piece of wire input was refused.
public enum WireError: Error, Equatable, Sendable {
    case invalidDigest(String)
    case invalidName(String)
    case invalidTag(String)
    case invalidRange(String)
    case invalidManifest(String)
    case manifestTooLarge(Int)
}
