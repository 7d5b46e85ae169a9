import LayoverStore
import LayoverWire

/// `/_layover/verify`: the online scrub, admin-only like every `/_layover/*` route.
extension RegistryResponder {
    /// `POST` starts a pass over every stored blob unless one is running, and answers `202` with
    /// its report; `GET` answers the latest pass's report (`?pass=N`: that pass's), `404` when
    /// there is none. The pass runs in the server, whoever polls it.
    func verify(_ request: Request) throws(OCIError) -> Response {
        switch request.method {
        case .POST:
            return .json(scrubber.start().json(), status: .accepted)
        case .GET:
            var pass: Int?
            if let text = request.queryValue("pass") {
                guard let number = Int(text) else { throw OCIError(status: 400, code: .unsupported, message: "bad pass \(text)") }
                pass = number
            }
            guard let report = scrubber.report(pass: pass) else {
                throw OCIError(status: 404, code: .unsupported,
                               message: pass.map { "no report of pass \($0) (only the last few are kept)" } ?? "no scrub has run; POST to start one")
            }
            return .json(report.json())
        default:
            throw Self.methodNotAllowed
        }
    }
}
