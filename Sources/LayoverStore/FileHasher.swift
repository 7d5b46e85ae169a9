import LayoverWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hashes a stored file one read at a time: the check behind `verify`, the online scrub (which
/// paces itself between reads) and the adoption of files a crash left without index rows.
///
/// Not thread-safe: one owner reads it to the end. The file is closed when the hasher goes away.
final class FileHasher {
    /// Why a file could not be read to its end.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Bytes read and hashed so far.
    private(set) var bytesRead: Int64 = 0
    private let descriptor: Int32
    private var hasher: DigestHasher
    private var buffer: [UInt8]

    /// Opens `path` for hashing with `algorithm`, reading up to `readSize` bytes at a time.
    init(path: String, algorithm: Digest.Algorithm, readSize: Int = 1 << 20) throws(Failure) {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        hasher = DigestHasher(algorithm)
        buffer = [UInt8](repeating: 0, count: readSize)
    }

    deinit { close(descriptor) }

    /// Reads and hashes the next piece; returns its length, 0 at the end of the file.
    func step() throws(Failure) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "read failed: \(String(cString: strerror(errno)))")
            }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            bytesRead += Int64(count)
            return count
        }
    }

    /// The digest of everything read.
    func finalize() -> Digest { hasher.finalize() }

    /// Reads the whole file, calling `progress` with each piece's length; returns its digest and size.
    func hashToEnd(progress: (Int) -> Void = { _ in }) throws(Failure) -> (digest: Digest, size: Int64) {
        while case let count = try step(), count > 0 { progress(count) }
        return (finalize(), bytesRead)
    }
}
