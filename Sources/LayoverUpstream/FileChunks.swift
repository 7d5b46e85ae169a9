import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A stored file as an async sequence of chunks, read with `pread` as the consumer asks: an
/// upload of a gigabyte blob holds one chunk in memory at a time.
public struct FileChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let path: String
    let chunkSize: Int

    public init(path: String, chunkSize: Int = 64 * 1024) {
        self.path = path
        self.chunkSize = chunkSize
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let chunkSize: Int
        var descriptor: Int32 = -1
        var offset: off_t = 0
        var done = false

        public mutating func next() async throws -> ByteBuffer? {
            if done { return nil }
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw UpstreamError.protocolViolation("cannot open \(path)") }
            }
            var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
            let (fd, at, size) = (descriptor, offset, chunkSize)
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { pointer in
                Swift.max(0, pread(fd, pointer.baseAddress, size, at))
            }
            if count == 0 {
                close(descriptor)
                done = true
                return nil
            }
            offset += off_t(count)
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(path: path, chunkSize: chunkSize)
    }
}
