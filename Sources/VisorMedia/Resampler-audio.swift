/// Converts a stream of mono or interleaved 16-bit audio from one rate to another by linear
/// interpolation, carrying its position from block to block so that blocks join without clicks.
public struct AudioResampler {
    public let inputRateHertz: Int
    public let outputRateHertz: Int
    public let channelCount: Int
    /// Position of the next output sample, in input frames, relative to the current block.
    private var phase = 0.0
    private var previous: [Int16]

    public init(inputRateHertz: Int, outputRateHertz: Int, channelCount: Int) {
        self.inputRateHertz = inputRateHertz
        self.outputRateHertz = outputRateHertz
        self.channelCount = channelCount
        previous = [Int16](repeating: 0, count: channelCount)
    }

    /// Resamples one block (interleaved frames) into `output`, replacing its contents.
    public mutating func process(_ input: [Int16], into output: inout [Int16]) {
        output.removeAll(keepingCapacity: true)
        let frames = input.count / channelCount
        guard frames > 0 else { return }
        let step = Double(inputRateHertz) / Double(outputRateHertz)
        // Frame -1 is the last frame of the previous block.
        func sample(_ frame: Int, _ channel: Int) -> Double {
            frame < 0 ? Double(previous[channel]) : Double(input[frame * channelCount + channel])
        }
        while phase < Double(frames - 1) {
            let base = Int(phase.rounded(.down))
            let fraction = phase - Double(base)
            for c in 0..<channelCount {
                let value = sample(base, c) * (1 - fraction) + sample(base + 1, c) * fraction
                output.append(Int16(clamping: Int(value.rounded())))
            }
            phase += step
        }
        phase -= Double(frames)
        for c in 0..<channelCount { previous[c] = input[(frames - 1) * channelCount + c] }
    }
}
