import Foundation

/// One scrub pass's progress and findings: the JSON of `GET /_layover/verify`, and what
/// `layover verify --server` prints.
public struct ScrubReport: Codable, Sendable, Equatable {
    /// A blob whose bytes are not its digest, taken out of service.
    public struct Corrupt: Codable, Sendable, Equatable {
        public var digest: String
        /// What is wrong: `content hashes to sha256:…`, `size N, index says M`, a read error.
        public var problem: String
        /// Where its file went (under the store's `quarantine/`); nil when it could not be moved
        /// (its record and row are dropped all the same).
        public var movedTo: String?

        public init(digest: String, problem: String, movedTo: String?) {
            self.digest = digest
            self.problem = problem
            self.movedTo = movedTo
        }
    }

    /// Counts passes since the process started, from 1.
    public var pass: Int
    /// False once the pass has been through every blob (or stopped).
    public var running: Bool
    /// Seconds since 1970.
    public var startedAt: Double
    public var finishedAt: Double?
    /// Blobs stored when the pass began, and their bytes: the pass's work (blobs stored while it
    /// runs are checked too when they sort after its place, so the checked counts may pass these).
    public var blobs: Int
    public var bytes: Int64
    /// Blobs hashed so far (intact or not), and the bytes read.
    public var blobsChecked: Int
    public var bytesChecked: Int64
    /// Blobs evicted (or taken out) before the pass reached them: not checked, not an error.
    public var blobsGone: Int
    public var corrupt: [Corrupt]
    /// Why the pass stopped before its end, if it did (a shutdown).
    public var stopped: String?

    public init(pass: Int, startedAt: Double) {
        self.pass = pass
        running = true
        self.startedAt = startedAt
        blobs = 0
        bytes = 0
        blobsChecked = 0
        bytesChecked = 0
        blobsGone = 0
        corrupt = []
    }

    /// The JSON the admin endpoint answers with (sorted keys, stable for scripts).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
