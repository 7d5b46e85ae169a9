/// A parsed `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
public struct AuthChallenge: Equatable, Sendable {
    /// The scheme, lowercased: `bearer` or `basic`.
    public var scheme: String
    /// The parameters, keys lowercased.
    public var parameters: [String: String]

    /// Parses the first challenge in a header value; nil when there is none.
    public init?(header: String) {
        let trimmed = header.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased()
            parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        parameters = Self.parameters(trimmed[trimmed.index(after: space)...])
    }

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// `key=value` or `key="quoted, value"` pairs separated by commas.
    private static func parameters(_ text: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var index = text.startIndex
        func skip(_ characters: Set<Character>) {
            while index < text.endIndex, characters.contains(text[index]) { index = text.index(after: index) }
        }
        while index < text.endIndex {
            skip([" ", ","])
            let keyStart = index
            while index < text.endIndex, text[index] != "=" { index = text.index(after: index) }
            let key = text[keyStart..<index].trimmingCharacters(in: " ").lowercased()
            guard index < text.endIndex else { break }
            index = text.index(after: index)
            var value = ""
            if index < text.endIndex, text[index] == "\"" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "\"" {
                    if text[index] == "\\" { index = text.index(after: index) }
                    if index < text.endIndex { value.append(text[index]); index = text.index(after: index) }
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                let valueStart = index
                while index < text.endIndex, text[index] != "," { index = text.index(after: index) }
                value = text[valueStart..<index].trimmingCharacters(in: " ")
            }
            if !key.isEmpty { result[key] = value }
        }
        return result
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var sub = self
        while sub.first == character { sub.removeFirst() }
        while sub.last == character { sub.removeLast() }
        return String(sub)
    }
}
