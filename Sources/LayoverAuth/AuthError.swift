/// Why authentication could not be set up: an htpasswd file that cannot be read or holds an
/// entry Layover cannot check. Messages name the file and line, never a hash or a password.
public enum AuthError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// A line of the file is not a `user:bcrypt-hash` entry.
    case invalidEntry(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "auth.htpasswd: cannot read \(path): \(reason)"
        case .invalidEntry(let path, let line, let reason): "auth.htpasswd: \(path), line \(line): \(reason)"
        }
    }
}
