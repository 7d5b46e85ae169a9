import Dispatch

/// Runs blocking work (fsync, large renames) on a Dispatch queue, so that it never holds one of
/// the few cooperative threads Swift concurrency has.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(StoreError) -> T) async throws(StoreError) -> T {
    let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            do throws(StoreError) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
