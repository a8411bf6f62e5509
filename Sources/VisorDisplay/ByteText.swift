import VisorCore

/// Appends text to byte buffers without making Strings, for per-frame output that must not
/// allocate once its buffers have grown.
public enum ByteText {
    private static let digits: [[UInt8]] = (0...255).map { Array(String($0).utf8) }

    @inline(__always)
    public static func append(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    /// Appends a non-negative integer in decimal.
    public static func append(_ value: Int, to buffer: inout [UInt8], minimumDigits: Int = 1) {
        if value < 256 && minimumDigits <= 1 { buffer.append(contentsOf: digits[max(value, 0)]); return }
        var v = max(value, 0)
        var count = 0
        var scratch: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { s in
            repeat { s[count] = UInt8(48 + v % 10); v /= 10; count += 1 } while v > 0 || count < minimumDigits
            for i in stride(from: count - 1, through: 0, by: -1) { buffer.append(s[i]) }
        }
    }

    /// Appends a session time as `M:SS.mmm`.
    public static func appendSessionTime(_ nanoseconds: UInt64, to buffer: inout [UInt8]) {
        let ms = Int(nanoseconds / 1_000_000)
        append(ms / 60_000, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        append((ms / 1000) % 60, to: &buffer, minimumDigits: 2)
        buffer.append(UInt8(ascii: "."))
        append(ms % 1000, to: &buffer, minimumDigits: 3)
    }

    /// Appends a session time as `M:SS`, as a HUD clock shows it.
    public static func appendSessionClock(_ nanoseconds: UInt64, to buffer: inout [UInt8]) {
        let s = Int(nanoseconds / 1_000_000_000)
        append(s / 60, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        append(s % 60, to: &buffer, minimumDigits: 2)
    }

    /// Appends a time of day `HH:MM:SS` (UTC) from Unix time.
    public static func appendTimeOfDay(_ unixNanoseconds: UInt64, to buffer: inout [UInt8]) {
        let s = Int((unixNanoseconds / 1_000_000_000) % 86_400)
        append(s / 3600, to: &buffer, minimumDigits: 2)
        buffer.append(UInt8(ascii: ":"))
        append(s / 60 % 60, to: &buffer, minimumDigits: 2)
        buffer.append(UInt8(ascii: ":"))
        append(s % 60, to: &buffer, minimumDigits: 2)
    }
}
