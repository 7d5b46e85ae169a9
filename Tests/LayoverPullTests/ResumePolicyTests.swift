import Testing
@testable import LayoverPull

@Suite("Resume policy")
struct ResumePolicyTests {
    static func resumes(_ policy: inout ResumePolicy, _ written: Int64) -> Bool { policy.broke(written: written) }

    /// The offsets at which a shared download broke in CI when its upstream's connections were
    /// reset after 3 MiB each: most of each connection's bytes were dropped by the kernel unread.
    @Test("connections reset after tens of KiB read each are resumed: the upstream delivers")
    func smallProgressResumes() {
        var policy = ResumePolicy()
        let breaks: [Int64] = [360_448, 1_462_872, 3_037_784, 3_102_861, 3_133_122, 3_653_314, 3_751_618, 3_830_000]
        for written in breaks {
            #expect(Self.resumes(&policy, written), "gave up at \(written) after \(policy.breaksInARow) breaks in a row")
        }
    }

    @Test("breaks in a row that deliver nothing are given up after maximumResumes, with a growing backoff")
    func noProgressGivesUp() {
        var policy = ResumePolicy()
        #expect(Self.resumes(&policy, 4 << 20))
        #expect(policy.backoff == .milliseconds(250))
        for resume in 2...ResumePolicy.maximumResumes {
            #expect(Self.resumes(&policy, (4 << 20) + Int64(resume) * 1000))
        }
        #expect(policy.backoff == .milliseconds(4000))
        #expect(!Self.resumes(&policy, (4 << 20) + 10_000))
    }

    @Test("a connection that delivers progressThatCounts starts the count again")
    func progressForgives() {
        var policy = ResumePolicy()
        for _ in 1...ResumePolicy.maximumResumes { #expect(Self.resumes(&policy, 0)) }
        #expect(Self.resumes(&policy, ResumePolicy.progressThatCounts))
        #expect(policy.breaksInARow == 1)
        #expect(policy.backoff == .milliseconds(250))
    }
}
