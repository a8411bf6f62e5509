/// The capture time of any sample of a stream of blocks, the stream taken as continuous from each
/// block's capture time.
struct SampleClock {
    let rate: UInt64
    private var blockStartSample: UInt64 = 0
    private var blockStartTime: UInt64 = 0

    init(rate: UInt64) { self.rate = rate }

    /// A block whose first sample is `index` was captured at `time`.
    mutating func startBlock(atSample index: UInt64, time: UInt64) {
        blockStartSample = index
        blockStartTime = time
    }

    func time(ofSample index: UInt64) -> UInt64 {
        index >= blockStartSample ? blockStartTime + (index - blockStartSample) * 1_000_000_000 / rate
                                  : blockStartTime &- (blockStartSample - index) * 1_000_000_000 / rate
    }
}

/// Blocks of audio cut into the voice detector's 10 ms frames; what is left of a block waits for
/// the next. (A listener keeps this apart from its `SampleClock`: a frame's handler reads the clock
/// while the splitter is in use.)
struct FrameSplitter {
    private var pending: [Int16] = []

    /// Samples waiting for the rest of their frame.
    var waiting: Int { pending.count }

    mutating func split(_ samples: [Int16], _ body: (UnsafeBufferPointer<Int16>) -> Void) {
        pending.append(contentsOf: samples)
        let frame = VoiceActivityDetector.frameSamples
        var offset = 0
        pending.withUnsafeBufferPointer { buffer in
            while buffer.count - offset >= frame {
                body(UnsafeBufferPointer(rebasing: buffer[offset..<(offset + frame)]))
                offset += frame
            }
        }
        pending.removeFirst(offset)
    }
}
