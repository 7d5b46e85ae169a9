import Foundation

/// The `tags/list` JSON and its paging.
enum TagList {
    private struct Body: Codable {
        var name: String
        var tags: [String]?
    }

    static func decode(_ bytes: [UInt8]) -> [String]? {
        (try? JSONDecoder().decode(Body.self, from: Data(bytes)))?.tags ?? nil
    }

    static func encode(name: String, tags: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(Body(name: name, tags: tags))) ?? Data(), as: UTF8.self)
    }

    /// The tags after `last` (lexically), at most `count` of them; `more` when some were left out.
    static func page(_ sorted: [String], count: Int?, last: String?) -> (tags: [String], more: Bool) {
        let after = last.map { last in sorted.filter { $0 > last } } ?? sorted
        guard let count, count >= 0, count < after.count else { return (after, false) }
        return (Array(after.prefix(count)), true)
    }
}
