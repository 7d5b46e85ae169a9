import Foundation

/// What a client sent in `Authorization`: `Basic base64(user:password)` (a password may be a
/// token; the user name is then ignored) or `Bearer <token>`. Parsing never traps; a header it
/// cannot read is a `MalformedCredential`, which the front answers `401`. Printing a credential
/// never shows its secret.
public enum Credential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    case basic(user: String, password: String)
    case bearer(token: String)

    /// Parses one `Authorization` header value.
    public init(header: String) throws(MalformedCredential) {
        let trimmed = header.drop { $0 == " " || $0 == "\t" }
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            throw trimmed.isEmpty ? .empty : .noParameter
        }
        let scheme = trimmed[..<space].lowercased()
        let parameter = String(trimmed[space...].trimmingCharacters(in: .whitespaces))
        guard !parameter.isEmpty else { throw .noParameter }
        switch scheme {
        case "basic":
            guard let data = Self.base64(parameter) else { throw .notBase64 }
            guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8 }
            guard let colon = text.firstIndex(of: ":") else { throw .noColon }
            self = .basic(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
        case "bearer":
            self = .bearer(token: parameter)
        default:
            throw .unknownScheme
        }
    }

    /// The secret a token would be: the Basic password or the Bearer token.
    public var secret: String {
        switch self {
        case .basic(_, let password): password
        case .bearer(let token): token
        }
    }

    public var description: String {
        switch self {
        case .basic: "Basic(redacted)"
        case .bearer: "Bearer(redacted)"
        }
    }

    public var debugDescription: String { description }

    /// Standard base64, padding optional; anything outside the alphabet is refused.
    private static func base64(_ text: String) -> Data? {
        guard text.utf8.allSatisfy({ byte in
            (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
        }) else { return nil }
        var padded = text
        if padded.utf8.count % 4 != 0 { padded += String(repeating: "=", count: 4 - padded.utf8.count % 4) }
        return Data(base64Encoded: padded)
    }
}

/// Why an `Authorization` header could not be read (each is a failed credential, `401`).
public enum MalformedCredential: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case noParameter
    case unknownScheme
    case notBase64
    case notUTF8
    case noColon
    /// More than one `Authorization` header.
    case repeated

    public var description: String {
        switch self {
        case .empty: "empty Authorization header"
        case .noParameter: "Authorization header without credentials"
        case .unknownScheme: "unsupported Authorization scheme (Basic or Bearer)"
        case .notBase64: "Basic credentials are not base64"
        case .notUTF8: "Basic credentials are not UTF-8"
        case .noColon: "Basic credentials without user:password"
        case .repeated: "more than one Authorization header"
        }
    }
}
