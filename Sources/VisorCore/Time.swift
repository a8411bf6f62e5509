/// Formats a duration in nanoseconds as `M:SS.mmm` for people.
public func formatSessionTime(_ nanoseconds: UInt64) -> String {
    let totalMilliseconds = nanoseconds / 1_000_000
    let minutes = totalMilliseconds / 60_000
    let seconds = (totalMilliseconds / 1000) % 60
    let milliseconds = totalMilliseconds % 1000
    let secondsText = seconds < 10 ? "0\(seconds)" : "\(seconds)"
    let millisecondsText = String(repeating: "0", count: 3 - String(milliseconds).count) + String(milliseconds)
    return "\(minutes):\(secondsText).\(millisecondsText)"
}
