import Testing
@testable import LayoverHTTP

@Suite("TagList")
struct TagListTests {
    @Test func decodesTheTags() {
        #expect(TagList.decode(Array(#"{"name":"library/alpine","tags":["3.19","3.20","latest"]}"#.utf8)) == ["3.19", "3.20", "latest"])
    }

    @Test("yields nil without a tag list", arguments: [
        #"{"name":"a","tags":null}"#, #"{"name":"a"}"#, #"{"tags":["x"]}"#, "not json", "",
    ])
    func decodesNothing(_ text: String) {
        #expect(TagList.decode(Array(text.utf8)) == nil)
    }

    @Test func encodesWithSortedKeysAndPlainSlashes() {
        #expect(TagList.encode(name: "library/alpine", tags: ["3.19", "latest"]) == #"{"name":"library/alpine","tags":["3.19","latest"]}"#)
        #expect(TagList.encode(name: "a", tags: []) == #"{"name":"a","tags":[]}"#)
        #expect(TagList.encode(name: "q\"x", tags: ["t"]) == #"{"name":"q\"x","tags":["t"]}"#)
    }

    static let sorted = ["a", "b", "c", "d"]

    @Test("pages", arguments: [
        (Int?.none, String?.none, ["a", "b", "c", "d"], false),
        (2, nil, ["a", "b"], true),
        (2, "b", ["c", "d"], false),
        (1, "b", ["c"], true),
        (4, nil, ["a", "b", "c", "d"], false),
        (10, nil, ["a", "b", "c", "d"], false),
        (0, nil, [], true),
        (-1, nil, ["a", "b", "c", "d"], false),
        (nil, "bb", ["c", "d"], false),
        (nil, "z", [], false),
        (nil, "", ["a", "b", "c", "d"], false),
    ] as [(Int?, String?, [String], Bool)])
    func page(_ count: Int?, _ last: String?, _ tags: [String], _ more: Bool) {
        let page = TagList.page(Self.sorted, count: count, last: last)
        #expect(page.tags == tags)
        #expect(page.more == more)
    }
}
