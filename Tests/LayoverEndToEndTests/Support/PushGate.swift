import Foundation
import LayoverTestSupport
import NIOCore
import NIOHTTP1

/// A front for the real registry that passes every request through (bodies included) except the
/// ones a rule refuses: those get the rule's status, with an OCI error body or none. Upload
/// `Location`s are rewritten to point back at the gate, so that every step of a push meets it.
final class PushGate: Sendable {
    /// What to answer instead of passing a request through.
    struct Refusal: Sendable {
        var status: Int
        /// Whether the answer carries an OCI error body (else it has none).
        var body = true
        var headers: [(String, String)] = []
    }

    typealias Rule = @Sendable (_ method: HTTPMethod, _ uri: String) -> Refusal?

    let port: Int
    private let channel: any Channel
    private let refused: Shared<[String]>

    var url: String { "http://127.0.0.1:\(port)" }
    /// `METHOD uri` of every request refused so far.
    var refusals: [String] { refused.withLock { $0 } }

    init(registry: String, rule: @escaping Rule) async throws {
        let refused = Shared<[String]>([])
        self.refused = refused
        channel = try await HTTPStub.serve { request, port in
            let head = request.head
            if let refusal = rule(head.method, head.uri) {
                refused.withLock { $0.append("\(head.method) \(head.uri)") }
                let text = refusal.body
                    ? Array("{\"errors\":[{\"code\":\"DENIED\",\"message\":\"refused by the test gate (\(refusal.status))\"}]}".utf8) : []
                var headers = refusal.headers
                if refusal.body { headers.append(("Content-Type", "application/json")) }
                return (HTTPResponseStatus(statusCode: refusal.status), headers, text)
            }
            return try await HTTPStub.forward(request, to: registry, as: "http://127.0.0.1:\(port)")
        }
        self.port = channel.localAddress!.port!
    }

    func close() { channel.close(promise: nil) }
}
