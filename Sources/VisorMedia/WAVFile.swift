import Foundation
import VisorCore

/// 16-bit PCM WAV files.
public enum WAVFile {
    /// The bytes of a WAV file holding `samples` (interleaved signed 16-bit).
    public static func encode(samples: [Int16], sampleRateHertz: Int, channelCount: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(44 + samples.count * 2)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        let dataBytes = UInt32(samples.count * 2)
        out.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes); out.append(contentsOf: Array("WAVE".utf8))
        out.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(UInt16(channelCount))
        u32(UInt32(sampleRateHertz)); u32(UInt32(sampleRateHertz * channelCount * 2)); u16(UInt16(channelCount * 2)); u16(16)
        out.append(contentsOf: Array("data".utf8)); u32(dataBytes)
        samples.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// Writes a WAV file readable by its owner only.
    public static func write(samples: [Int16], sampleRateHertz: Int, channelCount: Int, to path: String) throws {
        let bytes = encode(samples: samples, sampleRateHertz: sampleRateHertz, channelCount: channelCount)
        try OutputFile.write(bytes, to: path, role: "speech file")
    }
}
