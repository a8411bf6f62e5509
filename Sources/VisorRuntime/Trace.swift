import Foundation
import VisorCore

/// Records spans for a Chrome trace-event file (Perfetto and chrome://tracing open it): one track
/// per fast stage and per worker thread. Spans go into preallocated arrays; names are indexes.
public final class TraceRecorder {
    private struct Span { var name: Int32; var track: Int32; var start: UInt64; var duration: UInt64 }

    private var spans: [Span] = []
    private var names: [String] = []
    private var tracks: [String] = []
    private let lock = NSLock()
    private let origin: UInt64

    /// - Parameter origin: monotonic time that becomes 0 in the trace.
    public init(origin: UInt64, capacity: Int = 1 << 16) {
        self.origin = origin
        spans.reserveCapacity(capacity)
    }

    /// Registers a name (a stage) and returns its index; call before the run.
    public func nameIndex(_ name: String) -> Int32 {
        if let i = names.firstIndex(of: name) { return Int32(i) }
        names.append(name)
        return Int32(names.count - 1)
    }

    /// Registers a track (a stage's lane, or a worker thread) and returns its index.
    public func trackIndex(_ name: String) -> Int32 {
        if let i = tracks.firstIndex(of: name) { return Int32(i) }
        tracks.append(name)
        return Int32(tracks.count - 1)
    }

    /// Thread-safe: workers record their own spans.
    public func record(name: Int32, track: Int32, start: UInt64, end: UInt64) {
        lock.lock()
        spans.append(Span(name: name, track: track, start: start, duration: end &- start))
        lock.unlock()
    }

    /// Writes the trace as JSON (`traceEvents`, microseconds).
    public func write(to path: String) throws {
        var out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"
        out += "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"visor\"}}"
        for (i, track) in tracks.enumerated() {
            out += ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":\(i + 1),\"args\":{\"name\":\(jsonString(track))}}"
            out += ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":\(i + 1),\"args\":{\"sort_index\":\(i + 1)}}"
        }
        lock.lock()
        let recorded = spans
        lock.unlock()
        for span in recorded {
            let ts = Double(span.start &- origin) / 1000, dur = Double(span.duration) / 1000
            out += ",\n{\"name\":\(jsonString(names[Int(span.name)])),\"ph\":\"X\",\"pid\":1,\"tid\":\(span.track + 1),\"ts\":\(String(format: "%.3f", ts)),\"dur\":\(String(format: "%.3f", dur))}"
        }
        out += "\n]}\n"
        try OutputFile.write(Array(out.utf8), to: path, role: "trace")
    }

    private func jsonString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
