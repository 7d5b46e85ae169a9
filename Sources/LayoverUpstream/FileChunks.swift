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
    let offset: Int64
    let length: Int64?

    /// The bytes of `path` from `offset` on, `length` of them (to the end when nil).
    public init(path: String, chunkSize: Int = 64 * 1024, offset: Int64 = 0, length: Int64? = nil) {
        self.path = path
        self.chunkSize = chunkSize
        self.offset = offset
        self.length = length
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let chunkSize: Int
        var descriptor: Int32 = -1
        var offset: off_t
        /// Bytes still to read; nil: to the end of the file.
        var remaining: Int64?
        var done = false

        public mutating func next() async throws -> ByteBuffer? {
            if done || remaining == 0 {
                if descriptor >= 0 { close(descriptor) }
                descriptor = -1
                done = true
                return nil
            }
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw UpstreamError.protocolViolation("cannot open \(path)") }
            }
            let wanted = remaining.map { Int(Swift.min(Int64(chunkSize), $0)) } ?? chunkSize
            var buffer = ByteBufferAllocator().buffer(capacity: wanted)
            let (fd, at, size) = (descriptor, offset, wanted)
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { pointer in
                Swift.max(0, pread(fd, pointer.baseAddress, size, at))
            }
            if count == 0 {
                close(descriptor)
                done = true
                return nil
            }
            offset += off_t(count)
            remaining = remaining.map { $0 - Int64(count) }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(path: path, chunkSize: chunkSize, offset: off_t(offset), remaining: length)
    }
}
