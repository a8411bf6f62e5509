import CFlite
import Foundation
import Synchronization
import VisorCore

/// flite's slt voice: text to 16 kHz mono 16-bit speech, the same samples every run. flite keeps
/// global state, so every voice in the process shares one lock.
public final class SpeechSynthesizer {
    public static let sampleRateHertz = 16_000
    private static let voice = Mutex<UnsafeMutablePointer<cst_voice>?>(nil)

    /// flite's duration stretch: 1 is its own pace, 1.2 makes speech 20 % longer.
    public let durationStretch: Float

    /// - Throws: when the voice cannot be loaded, or the name is not a voice Visor has.
    public init(voice name: String = "slt", durationStretch: Float = 1) throws {
        guard name == "slt" else { throw VisorError("voice \(name): Visor has flite's slt voice only") }
        guard durationStretch > 0.3 && durationStretch < 3 else { throw VisorError("voice rate \(durationStretch): must be between 0.3 and 3") }
        self.durationStretch = durationStretch
        let loaded = Self.voice.withLock { voice -> Bool in
            if voice == nil {
                flite_init()
                voice = register_cmu_us_slt(nil)
            }
            return voice != nil
        }
        guard loaded else { throw VisorError("flite could not load the slt voice") }
    }

    /// Speaks `text`: samples at 16 kHz. Empty for text with nothing to say.
    public func synthesize(_ text: String) -> [Int16] {
        let clean = String(text.unicodeScalars.filter { $0.isASCII && ($0.value >= 0x20 || $0 == "\n") }.map(Character.init))
        guard clean.contains(where: { $0.isLetter || $0.isNumber }) else { return [] }
        let stretch = durationStretch
        return Self.voice.withLock { voice -> [Int16] in
            guard let voice else { return [] }
            return Self.speak(clean, voice: voice, stretch: stretch)
        }
    }

    /// Call with the voice's lock held.
    private static func speak(_ clean: String, voice: UnsafeMutablePointer<cst_voice>, stretch: Float) -> [Int16] {
        visor_flite_set_stretch(voice, stretch)
        // The voice's excitation noise comes from libc's rand(): seeding it makes every
        // synthesis of the same text the same samples (as each run of the flite command is).
        srand(1)
        guard let wave = flite_text_to_wave(clean, voice) else { return [] }
        defer { delete_wave(wave) }
        let count = Int(wave.pointee.num_samples)
        guard count > 0, let samples = wave.pointee.samples, wave.pointee.sample_rate == Int32(sampleRateHertz) else { return [] }
        return Array(UnsafeBufferPointer(start: samples, count: count))
    }
}
