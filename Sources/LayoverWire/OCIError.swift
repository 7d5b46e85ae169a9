/// The error codes of the OCI distribution spec, plus the Docker extensions clients expect.
public enum OCIErrorCode: String, Sendable, Codable {
    case blobUnknown = "BLOB_UNKNOWN"
    case blobUploadInvalid = "BLOB_UPLOAD_INVALID"
    case blobUploadUnknown = "BLOB_UPLOAD_UNKNOWN"
    case digestInvalid = "DIGEST_INVALID"
    case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
    case manifestInvalid = "MANIFEST_INVALID"
    case manifestUnknown = "MANIFEST_UNKNOWN"
    case nameInvalid = "NAME_INVALID"
    case nameUnknown = "NAME_UNKNOWN"
    case sizeInvalid = "SIZE_INVALID"
    case unauthorized = "UNAUTHORIZED"
    case denied = "DENIED"
    case unsupported = "UNSUPPORTED"
    case tooManyRequests = "TOOMANYREQUESTS"
    case rangeInvalid = "RANGE_INVALID"
    case unavailable = "UNAVAILABLE"
}

/// One OCI error: a status to answer with and the JSON body's single entry.
public struct OCIError: Error, Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// The spec's error code.
    public var code: OCIErrorCode
    /// A human-readable message.
    public var message: String
    /// Headers the answer must carry (e.g. `Retry-After`).
    public var headers: [(String, String)]

    public init(status: Int, code: OCIErrorCode, message: String, headers: [(String, String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public static func == (lhs: OCIError, rhs: OCIError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
    }

    /// `{"errors":[{"code","message","detail"}]}` as the spec lays it out.
    public var jsonBody: String {
        "{\"errors\":[{\"code\":\"\(code.rawValue)\",\"message\":\(Self.quoted(message)),\"detail\":null}]}"
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u" + String(format4Hex: scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension String {
    init(format4Hex value: UInt32) {
        let hex = String(value, radix: 16)
        let padding = String(repeating: "0", count: Swift.max(0, 4 - hex.utf8.count))
        self = padding + hex
    }
}

extension OCIError {
    public static func nameInvalid(_ name: String) -> OCIError {
        OCIError(status: 400, code: .nameInvalid, message: "invalid repository name: \(name)")
    }
    public static func nameUnknown(_ detail: String) -> OCIError {
        OCIError(status: 404, code: .nameUnknown, message: detail)
    }
    public static func digestInvalid(_ digest: String) -> OCIError {
        OCIError(status: 400, code: .digestInvalid, message: "invalid digest: \(digest)")
    }
    public static func manifestInvalid(_ detail: String) -> OCIError {
        OCIError(status: 400, code: .manifestInvalid, message: detail)
    }
    public static func manifestUnknown(_ reference: String) -> OCIError {
        OCIError(status: 404, code: .manifestUnknown, message: "manifest unknown: \(reference)")
    }
    public static func blobUnknown(_ digest: String) -> OCIError {
        OCIError(status: 404, code: .blobUnknown, message: "blob unknown: \(digest)")
    }
    public static func unsupported(_ detail: String, status: Int = 405) -> OCIError {
        OCIError(status: status, code: .unsupported, message: detail)
    }
    public static func unavailable(_ detail: String) -> OCIError {
        OCIError(status: 503, code: .unavailable, message: detail)
    }
    public static func tooManyRequests(retryAfter: Int?) -> OCIError {
        OCIError(status: 429, code: .tooManyRequests, message: "upstream rate limit reached",
                 headers: retryAfter.map { [("Retry-After", String($0))] } ?? [])
    }

    /// Maps a rejected piece of wire input to the error a client should see.
    public init(_ error: WireError) {
        switch error {
        case .invalidDigest(let text): self = .digestInvalid(text)
        case .invalidName(let text): self = .nameInvalid(text)
        case .invalidTag(let text):
            self = OCIError(status: 400, code: .manifestInvalid, message: "invalid tag: \(text)")
        case .invalidRange(let text):
            self = OCIError(status: 416, code: .rangeInvalid, message: "invalid range: \(text)")
        case .invalidManifest(let detail): self = .manifestInvalid(detail)
        case .manifestTooLarge(let size):
            self = OCIError(status: 413, code: .sizeInvalid, message: "manifest of \(size) bytes exceeds the limit")
        }
    }
}
