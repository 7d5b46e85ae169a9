/// A receive window Layover grants (one stream's, or the connection's): told the window's size as
/// NIO's HTTP/2 handler reports it, says what to give back in a `WINDOW_UPDATE` so that it
/// returns to `target`, once it has fallen to half of it or below.
struct InboundWindow {
    let target: Int
    /// The size last reported, plus what was granted since.
    private var size: Int?
    /// While set (the stream's body reader is behind), nothing is granted: the client stops
    /// once the window is spent.
    var held = false

    init(target: Int) {
        self.target = target
    }

    /// The window is now `newSize` (negative when the peer's initial size shrank); the increment
    /// to send, if any.
    mutating func sized(_ newSize: Int) -> Int? {
        size = newSize
        return grant()
    }

    /// The initial window size changed by `delta` for every stream: so did this one.
    mutating func shifted(by delta: Int) -> Int? {
        guard let size else { return nil }
        return sized(size + delta)
    }

    /// The increment to send now, if any (counted as granted).
    mutating func grant() -> Int? {
        guard !held, let size, size <= target / 2 else { return nil }
        let increment = min(target - size, Int(Int32.max))
        self.size = size + increment
        return increment
    }
}
