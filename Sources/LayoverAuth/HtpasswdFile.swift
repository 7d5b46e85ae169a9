import Foundation
import Logging
import LayoverLocks

/// The users of an htpasswd file, re-readable while serving (SIGHUP). A reload that fails keeps
/// the table in force and logs why, so a half-written file never locks every client out.
/// Thread-safe.
public final class HtpasswdFile: Sendable {
    public let path: String
    private let table: Locked<[String: String]>
    private let logger: Logger

    /// Reads the file; a file that cannot be read or parsed is an error (refused at startup).
    public init(path: String, logger: Logger = Logger(label: "layover.auth")) throws(AuthError) {
        self.path = path
        self.logger = logger
        table = Locked(try Self.read(path))
    }

    /// Re-reads the file. Returns whether the new table is in force; on failure the old one is kept.
    @discardableResult
    public func reload() -> Bool {
        do {
            let fresh = try Self.read(path)
            table.withLock { $0 = fresh }
            logger.notice("htpasswd reloaded", metadata: ["path": "\(path)", "users": "\(fresh.count)"])
            return true
        } catch {
            logger.error("htpasswd reload failed; keeping the users already loaded",
                         metadata: ["path": "\(path)", "error": "\(error)"])
            return false
        }
    }

    /// The bcrypt hash of `user`, if the file names them.
    public func hash(of user: String) -> String? {
        table.withLock { $0[user] }
    }

    /// How many users the table holds.
    public var userCount: Int { table.withLock { $0.count } }

    private static func read(_ path: String) throws(AuthError) -> [String: String] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw .unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? reason : "no such file")
        }
        return try Htpasswd.parse(text, path: path)
    }
}
