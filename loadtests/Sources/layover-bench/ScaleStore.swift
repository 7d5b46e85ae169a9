import Foundation
import LayoverStore
import LayoverTestSupport
import LayoverWire

/// A store seeded straight through `LayoverStore`'s bulk path (one index transaction and one
/// file-system sync per batch): `count` small blobs of 512 B–1.5 KiB, every tenth an OCI manifest
/// naming two of the blobs before it, each linked to one of 100 repositories `scale/rNN`.
/// Keeps a sample of what it stored (for the load) and blobs to pin and hold.
struct ScaleStore {
    static let repositories = 100
    static let manifestType = "application/vnd.oci.image.manifest.v1+json"
    static let upstream = "up"
    /// The upstream pinned replication jobs are for: unreachable, as in an outage.
    static let outage = "outage"

    let root: String
    let count: Int
    /// `/v2/...` paths of stored blobs and manifests, spread evenly over the store: as many as
    /// every store has (the same working set at every size), and a wider set where there is room.
    private(set) var blobPaths: [String] = []
    private(set) var manifestPaths: [String] = []
    private(set) var wideBlobPaths: [String] = []
    private(set) var wideManifestPaths: [String] = []
    /// Plain blobs to hold, and (manifest, the blobs it names) for pinned jobs.
    private(set) var protectable: [Digest] = []
    private(set) var jobManifests: [(manifest: Digest, needs: [Digest])] = []
    private(set) var seedSeconds = 0.0

    init(root: String, count: Int) {
        self.root = root
        self.count = count
    }

    static func repository(_ index: Int) -> RepositoryKey {
        RepositoryKey(upstream: upstream, repository: try! RepositoryName(String(format: "scale/r%02d", index % repositories)))
    }

    /// Seeds the store in batches of 10,000. For the load, paths spread evenly over the store
    /// are kept: as many blobs and manifests as a store of `narrow` items has, and, when there
    /// are that many, `wide` of each. `protect` blobs are set aside for `protect()`.
    mutating func seed(narrow: Int, wide: Int, protect: Int) async throws {
        let store = try BlobStore(layout: StoreLayout(root: root), budget: StoreBudget(maxBytes: 1 << 40), synchronous: .normal)
        defer { store.close() }
        let clock = ContinuousClock()
        let start = clock.now
        let (narrowBlobs, narrowManifests) = (narrow - narrow / 10, narrow / 10)
        func stride(_ total: Int, _ wanted: Int) -> Int { max(1, total / max(1, wanted)) }
        let strides = (blob: stride(count - count / 10, narrowBlobs), manifest: stride(count / 10, narrowManifests),
                       wideBlob: stride(count - count / 10, wide), wideManifest: stride(count / 10, wide))
        let hasWide = count / 10 >= wide
        var recent: [(digest: Digest, size: Int)] = []
        var blobs = 0
        var manifests = 0
        // The first items go to pending jobs (a manifest and the 9 blobs before it, half of
        // `protect`); plain blobs after them are held (the other half).
        let jobBlobs = protect / 2 / 10 * 10
        var index = 0
        while index < count {
            let batch = min(10_000, count - index)
            var items: [BlobStore.BulkItem] = []
            var named: [[(digest: Digest, size: Int)]] = []
            items.reserveCapacity(batch)
            for number in index..<(index + batch) {
                if number % 10 == 9 {
                    items.append(.init(bytes: Self.manifest(naming: recent, number: number), mediaType: Self.manifestType,
                                       repository: Self.repository(number)))
                    named.append(recent)
                    recent = []
                } else {
                    let bytes = Self.content(number)
                    items.append(.init(bytes: bytes, repository: Self.repository(number)))
                    named.append([])
                    recent.append((Digest.sha256(of: bytes), bytes.count))
                }
            }
            let records = try await store.putMany(items)
            for (offset, record) in records.enumerated() {
                let number = index + offset
                let repository = Self.repository(number).repository
                if items[offset].mediaType != nil {
                    let path = "/v2/up/\(repository)/manifests/\(record.digest)"
                    if manifests % strides.manifest == 0, manifestPaths.count < narrowManifests { manifestPaths.append(path) }
                    if hasWide, manifests % strides.wideManifest == 0, wideManifestPaths.count < wide { wideManifestPaths.append(path) }
                    manifests += 1
                    if number < jobBlobs { jobManifests.append((record.digest, named[offset].map(\.digest))) }
                } else {
                    let path = "/v2/up/\(repository)/blobs/\(record.digest)"
                    if blobs % strides.blob == 0, blobPaths.count < narrowBlobs { blobPaths.append(path) }
                    if hasWide, blobs % strides.wideBlob == 0, wideBlobPaths.count < wide { wideBlobPaths.append(path) }
                    blobs += 1
                    if number >= jobBlobs, protectable.count < protect - jobBlobs { protectable.append(record.digest) }
                }
            }
            index += batch
        }
        seedSeconds = Self.seconds(clock.now - start)
        await store.closeCleanly()
    }

    /// Protects the blobs set aside by `seed` as during an upstream outage: half pinned by pending
    /// replication jobs to the unreachable upstream (each a seeded manifest and the 9 blobs it
    /// names, waiting out a backoff of a day), half held for manifests still to come (uploads to
    /// `scale/held`). Through the store's own API.
    func protect() async throws {
        let store = try BlobStore(layout: StoreLayout(root: root), budget: StoreBudget(maxBytes: 1 << 40), synchronous: .normal)
        defer { store.close() }
        let holder = RepositoryKey(upstream: Self.upstream, repository: try RepositoryName("scale/held"))
        try await store.holdForPush(protectable, in: holder, seconds: 86_400)
        let pushed = RepositoryKey(upstream: Self.outage, repository: try RepositoryName("scale/pushed"))
        for (number, job) in jobManifests.enumerated() {
            let recorded = try await store.recordPush(repository: pushed, tag: try Tag("p\(number)"), manifest: job.manifest,
                                                      mediaType: Self.manifestType, needs: job.needs, replicate: true)
            guard var pending = recorded.job else { throw TestFailure("recordPush made no job") }
            pending.nextAttemptAt += 86_400
            try await store.updateJob(pending)
        }
        say("# scale: \(protectable.count) blobs held, \(jobManifests.count * 10) pinned by \(jobManifests.count) pending jobs; "
            + "\(store.pinnedBytes) bytes protected")
        await store.closeCleanly()
    }

    /// Bytes of the index (database and write-ahead log).
    var indexBytes: Int {
        ["", "-wal"].reduce(0) { total, suffix in
            total + ((try? FileManager.default.attributesOfItem(atPath: root + "/index.sqlite" + suffix)[.size] as? Int) ?? 0)
        }
    }

    /// 512 B–1.5 KiB unique to `number`.
    static func content(_ number: Int) -> [UInt8] { pseudoRandomBytes(512 + number % 1024, seed: UInt64(number)) }

    /// An OCI manifest whose config is the first of `blobs` and whose layers are the others.
    static func manifest(naming blobs: [(digest: Digest, size: Int)], number: Int) -> [UInt8] {
        func descriptor(_ type: String, _ blob: (digest: Digest, size: Int)) -> String {
            #"{"mediaType":"\#(type)","digest":"\#(blob.digest)","size":\#(blob.size)}"#
        }
        let config = blobs.first.map { descriptor("application/vnd.oci.image.config.v1+json", $0) } ?? #"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}"#
        let layers = blobs.dropFirst().map { descriptor("application/vnd.oci.image.layer.v1.tar+gzip", $0) }
        return Array("""
            {"schemaVersion":2,"mediaType":"\(manifestType)","config":\(config),"layers":[\(layers.joined(separator: ","))],\
            "annotations":{"n":"\(number)"}}
            """.utf8)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
