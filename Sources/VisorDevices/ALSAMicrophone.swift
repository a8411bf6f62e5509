import CALSA
import Foundation
import Synchronization
import Logging
import VisorCore
import VisorMedia

/// A microphone captured through ALSA: 16-bit interleaved at the rate and channel count asked for
/// (a device that captures at another rate is resampled), in short periods for low latency,
/// each block stamped with the capture time of its first sample from the PCM's timestamps on the
/// monotonic clock. Overruns are recovered with `snd_pcm_recover` and counted.
///
/// `read` is called by one thread at a time (the capture thread), which alone touches the PCM and
/// its buffers; the overrun count is atomic: hence `@unchecked Sendable`.
public final class ALSAMicrophone: @unchecked Sendable {
    public let device: String
    /// The rate blocks are delivered at (the rate asked for).
    public let sampleRateHertz: Int
    /// The rate the device captures at; when it differs, blocks are resampled.
    public let deviceRateHertz: Int
    public let channelCount: Int
    /// Frames the device delivers a period.
    public let periodFrames: Int
    private var resampler: AudioResampler?
    private var deviceSamples: [Int16] = []
    private let overrunCount = Atomic<Int>(0)
    /// Overruns recovered from so far.
    public var overruns: Int { overrunCount.load(ordering: .relaxed) }
    private var pcm: OpaquePointer?
    private let logger = Logger(label: "visor.microphone")

    /// Opens the capture PCM `device` ("default", "hw:1,0", or a name from an ALSA configuration).
    /// - Parameter periodMilliseconds: the length of each block (10 to 20 ms for low latency).
    /// - Throws: `VisorError` naming the device and what to do.
    public init(device: String = "default", sampleRateHertz: Int = 16_000, channelCount: Int = 1, periodMilliseconds: Int = 20) throws {
        self.device = device
        visor_alsa_silence_errors()
        var handle: OpaquePointer?
        let opened = snd_pcm_open(&handle, device, SND_PCM_STREAM_CAPTURE, 0)
        guard opened >= 0, let handle else { throw Self.error(device, opened, "cannot open") }
        pcm = handle
        var hw: OpaquePointer?
        snd_pcm_hw_params_malloc(&hw)
        defer { snd_pcm_hw_params_free(hw) }
        var rate = UInt32(sampleRateHertz)
        var period = snd_pcm_uframes_t(sampleRateHertz * periodMilliseconds / 1000)
        var buffer = period * 8
        var direction: Int32 = 0
        let steps: [(String, () -> Int32)] = [
            ("read its capabilities", { snd_pcm_hw_params_any(handle, hw) }),
            ("use interleaved access", { snd_pcm_hw_params_set_access(handle, hw, SND_PCM_ACCESS_RW_INTERLEAVED) }),
            ("capture 16-bit samples", { snd_pcm_hw_params_set_format(handle, hw, SND_PCM_FORMAT_S16_LE) }),
            ("capture \(channelCount) channel(s)", { snd_pcm_hw_params_set_channels(handle, hw, UInt32(channelCount)) }),
            ("capture at \(sampleRateHertz) Hz", { snd_pcm_hw_params_set_rate_near(handle, hw, &rate, &direction) }),
            ("use \(periodMilliseconds) ms periods", { snd_pcm_hw_params_set_period_size_near(handle, hw, &period, &direction) }),
            ("set its buffer", { snd_pcm_hw_params_set_buffer_size_near(handle, hw, &buffer) }),
            ("apply the settings", { snd_pcm_hw_params(handle, hw) }),
        ]
        for (what, step) in steps {
            let result = step()
            if result < 0 { snd_pcm_close(handle); pcm = nil; throw Self.error(device, result, "cannot \(what) on") }
        }
        var sw: OpaquePointer?
        snd_pcm_sw_params_malloc(&sw)
        defer { snd_pcm_sw_params_free(sw) }
        snd_pcm_sw_params_current(handle, sw)
        snd_pcm_sw_params_set_tstamp_mode(handle, sw, SND_PCM_TSTAMP_ENABLE)
        snd_pcm_sw_params_set_tstamp_type(handle, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC)
        snd_pcm_sw_params(handle, sw)
        self.sampleRateHertz = sampleRateHertz
        deviceRateHertz = Int(rate)
        if deviceRateHertz != sampleRateHertz {
            resampler = AudioResampler(inputRateHertz: deviceRateHertz, outputRateHertz: sampleRateHertz, channelCount: channelCount)
        }
        self.channelCount = channelCount
        periodFrames = Int(period)
        logger.info("microphone \(device): \(rate) Hz, \(channelCount) channel(s), \(period)-frame periods")
    }

    deinit { if let pcm { snd_pcm_close(pcm) } }

    static func error(_ device: String, _ code: Int32, _ what: String) -> VisorError {
        let reason = String(cString: snd_strerror(code))
        switch -code {
        case ENOENT, ENODEV, ENXIO:
            return VisorError("no microphone named \(device) (\(reason)); `visor devices` lists the capture PCMs")
        case EBUSY:
            return VisorError("microphone \(device) is busy: another program is using it; close that program and try again")
        default:
            return VisorError("\(what) microphone \(device): \(reason)")
        }
    }

    /// Reads the next period into `block` (samples reused while the size holds). Returns false
    /// at the end of a recording (a virtual microphone's file is done).
    /// - Throws: `VisorError` when the microphone is gone.
    public func read(into block: inout AudioBlock) throws -> Bool {
        guard let pcm else { return false }
        let count = periodFrames * channelCount
        if deviceSamples.count != count { deviceSamples = [Int16](repeating: 0, count: count) }
        block.sampleRateHertz = sampleRateHertz
        block.channelCount = channelCount
        var filled = 0
        while filled < periodFrames {
            let n = deviceSamples.withUnsafeMutableBufferPointer { buffer in
                snd_pcm_readi(pcm, buffer.baseAddress! + filled * channelCount, snd_pcm_uframes_t(periodFrames - filled))
            }
            if n >= 0 { filled += Int(n); continue }
            let code = Int32(n)
            if -code == ENODATA { return false }
            if -code == EPIPE { overrunCount.add(1, ordering: .relaxed) }
            if -code == EAGAIN || -code == EINTR { continue }
            if -code == ENODEV || -code == EIO || -code == EBADFD {
                throw VisorError("microphone \(device) stopped delivering audio (\(String(cString: snd_strerror(code)))): it was unplugged or its driver stopped")
            }
            let recovered = snd_pcm_recover(pcm, code, 1)
            if recovered < 0 {
                if -recovered == ENODATA { return false }
                if -recovered == ENODEV || -recovered == EIO {
                    throw VisorError("microphone \(device) stopped delivering audio (\(String(cString: snd_strerror(recovered)))): it was unplugged or its driver stopped")
                }
                throw VisorError("microphone \(device) failed and could not recover: \(String(cString: snd_strerror(recovered)))")
            }
        }
        if resampler != nil {
            resampler!.process(deviceSamples, into: &block.samples)
        } else {
            if block.samples.count != count { block.samples = [Int16](repeating: 0, count: count) }
            block.samples.withUnsafeMutableBufferPointer { dst in deviceSamples.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: count) } }
        }
        block.captureTimeNanoseconds = captureTimeOfFirstSample(framesJustRead: filled)
        return true
    }

    /// From the PCM's timestamp of its last update: the frames still waiting plus those just read
    /// were captured before it.
    private func captureTimeOfFirstSample(framesJustRead: Int) -> UInt64 {
        var available: snd_pcm_uframes_t = 0
        var stamp = timespec()
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let base: UInt64
        if let pcm, snd_pcm_htimestamp(pcm, &available, &stamp) == 0, stamp.tv_sec > 0 {
            base = UInt64(stamp.tv_sec) * 1_000_000_000 + UInt64(stamp.tv_nsec)
        } else {
            base = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        }
        let back = UInt64(Int(available) + framesJustRead) * 1_000_000_000 / UInt64(deviceRateHertz)
        return base > back ? base - back : 0
    }
}

/// The PCMs ALSA knows, by name, for `visor devices`.
private func opens(_ name: String, _ stream: snd_pcm_stream_t) -> Bool {
    var handle: OpaquePointer?
    guard snd_pcm_open(&handle, name, stream, SND_PCM_NONBLOCK) == 0, let handle else { return false }
    snd_pcm_close(handle)
    return true
}

public func alsaPCMs() -> [(name: String, description: String, capture: Bool, playback: Bool)] {
    visor_alsa_silence_errors()
    var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    guard snd_device_name_hint(-1, "pcm", &hints) == 0, let hints else { return [] }
    defer { snd_device_name_free_hint(hints) }
    var result: [(String, String, Bool, Bool)] = []
    var index = 0
    while let hint = hints[index] {
        index += 1
        func field(_ key: String) -> String? {
            guard let value = snd_device_name_get_hint(hint, key) else { return nil }
            defer { free(value) }
            return String(cString: value)
        }
        guard let name = field("NAME") else { continue }
        let io = field("IOID")
        let description = (field("DESC") ?? "").replacingOccurrences(of: "\n", with: ", ")
        // A PCM whose hint names no direction (a plugin of a user's configuration, such as
        // Visor's virtual microphone, which is capture only) is listed where it opens.
        let capture = io == "Input" || (io == nil && opens(name, SND_PCM_STREAM_CAPTURE))
        let playback = io == "Output" || (io == nil && opens(name, SND_PCM_STREAM_PLAYBACK))
        result.append((name, description, capture, playback))
    }
    return result
}
