import CALSA
import Foundation
import Logging
import VisorCore

/// A speaker through ALSA, for speech: `play` queues samples and returns at once, a thread of its
/// own writes them, underruns are recovered (and counted), `stopPlayback` cuts speech short, and
/// `drain` plays what is queued to its end before closing. The queue and its flags are touched
/// only with `condition` held, and the PCM only by the writer until `drain` has joined it: hence
/// `@unchecked Sendable`.
public final class ALSASpeaker: @unchecked Sendable {
    public let device: String
    public let sampleRateHertz: Int
    public let channelCount: Int
    private var pcm: OpaquePointer?
    private let condition = NSCondition()
    private var queue: [Int16] = []
    private var position = 0
    private var closing = false
    private var flush = false
    private var underrunCount = 0
    private var thread: WorkerThread?
    private let logger = Logger(label: "visor.speaker")

    /// - Throws: `VisorError` naming the device when it cannot be opened or set up.
    public init(device: String = "default", sampleRateHertz: Int = 16_000, channelCount: Int = 1) throws {
        self.device = device
        self.sampleRateHertz = sampleRateHertz
        self.channelCount = channelCount
        visor_alsa_silence_errors()
        var handle: OpaquePointer?
        let opened = snd_pcm_open(&handle, device, SND_PCM_STREAM_PLAYBACK, 0)
        guard opened >= 0, let handle else {
            let reason = String(cString: snd_strerror(opened))
            if -opened == ENOENT || -opened == ENODEV { throw VisorError("no speaker named \(device) (\(reason)); `visor devices` lists the playback PCMs") }
            if -opened == EBUSY { throw VisorError("speaker \(device) is busy: another program is using it") }
            throw VisorError("cannot open speaker \(device): \(reason)")
        }
        // 100 ms of latency is plenty for speech and never starves on a loaded machine.
        let result = snd_pcm_set_params(handle, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, UInt32(channelCount),
                                        UInt32(sampleRateHertz), 1, 100_000)
        guard result >= 0 else {
            snd_pcm_close(handle)
            throw VisorError("cannot play \(sampleRateHertz) Hz 16-bit audio on speaker \(device): \(String(cString: snd_strerror(result)))")
        }
        pcm = handle
        thread = WorkerThread(name: "visor-speaker") { [unowned self] in self.writeLoop() }
    }

    deinit { drain() }

    /// Underruns recovered from so far.
    public var underruns: Int { condition.lock(); defer { condition.unlock() }; return underrunCount }

    /// Queues interleaved samples to play after what is queued; returns at once.
    public func play(_ samples: [Int16]) {
        condition.lock()
        queue.append(contentsOf: samples)
        condition.signal()
        condition.unlock()
    }

    /// Drops everything queued and what is playing now (a wearer's "stop").
    public func stopPlayback() {
        condition.lock()
        queue.removeAll()
        position = 0
        flush = true
        condition.signal()
        condition.unlock()
    }

    /// Plays what is queued to its end, then closes the device. Safe to call more than once.
    public func drain() {
        condition.lock()
        closing = true
        condition.signal()
        condition.unlock()
        thread?.join()
        thread = nil
        if let pcm {
            snd_pcm_drain(pcm)
            snd_pcm_close(pcm)
            self.pcm = nil
        }
    }

    private func writeLoop() {
        let chunkFrames = sampleRateHertz / 50
        var chunk: [Int16] = []
        while true {
            condition.lock()
            while position >= queue.count && !closing && !flush { condition.wait() }
            if flush, let pcm {
                flush = false
                snd_pcm_drop(pcm)
                snd_pcm_prepare(pcm)
            }
            if position >= queue.count {
                let done = closing
                condition.unlock()
                if done { return }
                continue
            }
            let end = min(queue.count, position + chunkFrames * channelCount)
            chunk.removeAll(keepingCapacity: true)
            chunk.append(contentsOf: queue[position..<end])
            position = end
            if position == queue.count { queue.removeAll(keepingCapacity: true); position = 0 }
            condition.unlock()

            guard let pcm else { return }
            var offset = 0
            while offset < chunk.count {
                let written = chunk.withUnsafeBufferPointer {
                    snd_pcm_writei(pcm, $0.baseAddress! + offset, snd_pcm_uframes_t((chunk.count - offset) / channelCount))
                }
                if written >= 0 { offset += Int(written) * channelCount; continue }
                if -Int32(written) == EPIPE {
                    condition.lock(); underrunCount += 1; condition.unlock()
                }
                if snd_pcm_recover(pcm, Int32(written), 1) < 0 {
                    logger.error("speaker \(device) failed: \(String(cString: snd_strerror(Int32(written))))")
                    return
                }
            }
        }
    }
}
