/// When a broken upstream download is resumed, and when it is given up.
///
/// An upstream that keeps breaking but delivers is slow, not dead: a break counts toward
/// `maximumResumes` only when the connection before it delivered less than `progressThatCounts`.
/// The bar is low on purpose. A reset (RST) makes the receiving kernel drop what it held and the
/// process had not read yet, so on a busy host a healthy upstream's connections can end with only
/// tens of KiB read of the MiBs they carried.
struct ResumePolicy: Sendable {
    /// Breaks in a row, without `progressThatCounts` between two of them, that are still resumed.
    static let maximumResumes = 5

    /// Bytes a connection must deliver before it breaks for its break not to count toward
    /// `maximumResumes`.
    static let progressThatCounts: Int64 = 64 << 10

    /// Breaks in a row so far (1 after a break that followed progress).
    private(set) var breaksInARow = 0
    /// Bytes written when the last connection broke.
    private var reachedAtBreak: Int64 = 0

    /// Records a break with `written` bytes of the blob written so far; whether to resume.
    mutating func broke(written: Int64) -> Bool {
        breaksInARow = written - reachedAtBreak >= Self.progressThatCounts ? 1 : breaksInARow + 1
        reachedAtBreak = written
        return breaksInARow <= Self.maximumResumes
    }

    /// How long to wait before the next connection: longer with each break in a row.
    var backoff: Duration { .milliseconds(250 << min(breaksInARow - 1, 4)) }
}
