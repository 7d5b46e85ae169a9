/// A YAML value that is one string or a list of strings (`who: alice` or `who: [alice, ci]`).
struct StringList: Decodable, Equatable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            values = [one]
        } else {
            values = try container.decode([String].self)
        }
    }
}
