/// Parses sizes as operators write them: `512MiB`, `20GiB`, `1.5GB`, `1048576`.
/// Binary units (`KiB`, `MiB`, `GiB`, `TiB`, and bare `K`, `M`, `G`, `T`) count in 1024s;
/// `KB`, `MB`, `GB`, `TB` in 1000s.
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.filter { $0 != " " && $0 != "_" }
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).lowercased()
        guard let value = Double(number), value >= 0 else { return nil }
        let multiplier: Double
        switch unit {
        case "", "b": multiplier = 1
        case "k", "ki", "kib": multiplier = 1024
        case "m", "mi", "mib": multiplier = 1024 * 1024
        case "g", "gi", "gib": multiplier = 1024 * 1024 * 1024
        case "t", "ti", "tib": multiplier = 1024 * 1024 * 1024 * 1024
        case "kb": multiplier = 1e3
        case "mb": multiplier = 1e6
        case "gb": multiplier = 1e9
        case "tb": multiplier = 1e12
        default: return nil
        }
        let bytes = value * multiplier
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }

    /// A size in the largest binary unit that keeps it readable: `20GiB`, `1.5MiB`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if value == value.rounded() { return "\(Int64(value))\(units[unit])" }
        return "\((value * 10).rounded() / 10)\(units[unit])"
    }
}
