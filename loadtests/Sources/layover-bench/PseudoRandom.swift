/// `count` bytes unique to `seed`: the seed, then SplitMix64 output seeded with it. For the many
/// small blobs of the scale and synchronous scenarios: `randomBytes` asks the kernel for every 8
/// bytes (one `getrandom` each), which would cost the load generator more than the server.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        let raw = UnsafeMutableRawBufferPointer(buffer)
        withUnsafeBytes(of: seed) { word in
            for index in 0..<min(8, count) { raw[index] = word[index] }
        }
        var offset = 8
        while offset < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { word in
                for index in 0..<min(8, count - offset) { raw[offset + index] = word[index] }
            }
            offset += 8
        }
        initialized = count
    }
}

/// 1 KiB (or `count` bytes) no other call returns.
func freshBytes(_ count: Int = 1024) -> [UInt8] { pseudoRandomBytes(count, seed: UInt64.random(in: 0...UInt64.max)) }
