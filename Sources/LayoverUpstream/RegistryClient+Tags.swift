import AsyncHTTPClient
import Foundation
import LayoverWire
import NIOCore

extension RegistryClient {
    /// Pages of an upstream tag list read at most: a registry that keeps answering `Link`s
    /// (or links in a circle) cannot hold a request forever.
    public static let maximumTagPages = 100

    private struct TagPage: Decodable {
        var tags: [String]?
    }

    /// Every tag of `repository` upstream: `GET tags/list`, then each page its `Link: <…>;
    /// rel="next"` names (resolved against the page's URL, on the upstream's own origin only),
    /// at most `maximumTagPages` pages. Throws `notFound` when the upstream does not know the
    /// repository.
    public func allTags(_ repository: RepositoryName) async throws(UpstreamError) -> [String] {
        var tags: [String] = []
        var page = upstream.url + "/v2/\(repository.value)/tags/list"
        var seen: Set<String> = []
        for _ in 0..<Self.maximumTagPages {
            seen.insert(page)
            let response = try await send(Call(method: .GET, path: page, scope: Self.pullScope(repository)))
            if response.status == .notFound {
                await Self.drain(response)
                throw .notFound
            }
            guard (200..<300).contains(response.status.code) else {
                await Self.drain(response)
                throw .protocolViolation("tags/list answered \(response.status.code)")
            }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 16 << 20)
            } catch {
                throw .unavailable("tag list body: \(error)")
            }
            guard let list = try? JSONDecoder().decode(TagPage.self, from: Data(body.readableBytesView)) else {
                throw .protocolViolation("tags/list answered a body that is not a tag list")
            }
            tags += list.tags ?? []
            guard let link = response.headers.first(name: "link"), let next = LinkHeader.next(link),
                  let url = URLResolver.resolve(next, against: page), URLOrigin(url) == URLOrigin(upstream.url),
                  !seen.contains(url) else { return tags }
            page = url
        }
        logger.notice("tag list cut short", metadata: ["repository": "\(repository)", "pages": "\(Self.maximumTagPages)"])
        return tags
    }
}

/// The `Link` header of a paged answer (RFC 8288), as registries send it.
enum LinkHeader {
    /// The target of the `rel="next"` link, when there is one: `</v2/…?last=x&n=100>; rel="next"`.
    static func next(_ header: String) -> String? {
        for link in header.split(separator: ",") {
            let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let isNext = parts.dropFirst().contains { parameter in
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, pair[0].lowercased() == "rel" else { return false }
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ").contains("next")
            }
            if isNext { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }
}
