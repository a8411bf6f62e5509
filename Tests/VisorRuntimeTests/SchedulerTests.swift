import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// A slow stage for testing the scheduler's own logic: it reports which frame it saw (by the
/// frame's grey level) and can be made slow.
final class ProbeStage: SlowStage {
    let name: String
    let reads: Set<ContextKey> = [.frame]
    let writes: Set<ContextKey> = [.codes]
    let delayMicroseconds: () -> UInt32
    /// The threads it analysed on, and their nice values.
    let threads = Locked<Set<String>>([])
    let nicenesses = Locked<Set<Int32>>([])

    init(name: String = "probe", delayMicroseconds: @escaping () -> UInt32 = { 0 }) {
        self.name = name
        self.delayMicroseconds = delayMicroseconds
    }

    func analyze(_ frame: Frame) throws -> SlowStageOutput {
        usleep(delayMicroseconds())
        let thread = Thread.isMainThread ? "main" : (Thread.current.name ?? "?")
        threads.withLock { _ = $0.insert(thread) }
        nicenesses.withLock { _ = $0.insert(WorkerThread.niceness) }
        let level = Int(frame.pixels[0])
        let sighting = CodeSighting(payload: "frame \(level)", symbology: "probe", box: [0, 0, 1, 1], captureTimeNanoseconds: frame.captureTimeNanoseconds)
        return SlowStageOutput(events: [TranscriptEvent(kind: EventKind(rawValue: "probe"), fields: [("level", .int(Int64(level)))])]) { $0.codes = [sighting] }
    }
}

/// A raw grey frame as a camera message, at a capture time in milliseconds.
func greyFrameMessage(level: UInt8, milliseconds: UInt64, width: Int = 8, height: Int = 6) -> MCAPMessage {
    let image = RawImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: milliseconds * 1_000_000), frameID: "test",
                                width: UInt32(width), height: UInt32(height), encoding: "mono8", step: UInt32(width),
                                data: ArraySlice(repeating: level, count: width * height))
    return MCAPMessage(channelID: 1, sequence: 0, logTime: milliseconds * 1_000_000, publishTime: 0, data: image.encoded()[...])
}

func profile(latencies: [String: Double]) throws -> DeviceProfile {
    var p = try DeviceProfiles.load("laptop")
    p.modelledLatencyMilliseconds = latencies
    return p
}

final class SchedulerTests: XCTestCase {
    private func makePipeline(_ stages: [SlowStage], latencies: [String: Double], mode: SchedulingMode, workers: Int = 2,
                              transcript: TranscriptWriter? = nil) throws -> Pipeline {
        var options = Pipeline.Options(profile: try profile(latencies: latencies))
        options.mode = mode
        options.workerThreads = workers
        options.transcript = transcript
        return try Pipeline(fastStages: [ConvertStage(schema: FoxgloveSchema.rawImage.name, topic: "/test"), LightStage(), HUDStage()],
                            slowStages: stages, options: options)
    }

    /// Steps the runtime frame by frame on the virtual clock, as SwiftNIO's embedded event loop
    /// lets its tests do, and checks when each result becomes visible.
    /// With workers, and inline (no worker: each stage runs on the calling thread as its frame is
    /// offered); the same results at the same frames either way.
    func testResultBecomesVisibleAtTheFirstFrameAfterItsModelledLatency() throws {
        for workers in [2, 0] { try stepFrameByFrame(workers: workers) }
    }

    private func stepFrameByFrame(workers: Int) throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let transcriptPath = dir.appendingPathComponent("steps.jsonl").path
        let transcript = try TranscriptWriter(path: transcriptPath)
        // The stage really takes 30 ms, but the model says 250 ms: the model decides.
        let probe = ProbeStage(delayMicroseconds: { 30_000 })
        let pipeline = try makePipeline([probe], latencies: ["probe": 250], mode: .deterministic, workers: workers, transcript: transcript)
        var visible: [String] = []
        for i in 0..<10 {
            try pipeline.process(greyFrameMessage(level: UInt8(10 * i), milliseconds: UInt64(100 * i)),
                                 sessionTime: UInt64(100 * i) * 1_000_000, wallClock: nil, arrival: DispatchTime.now().uptimeNanoseconds)
            visible.append(pipeline.state.scene.codes.first?.payload ?? "-")
        }
        // Frame 0 is taken at 0 ms and seen at 300 ms, the first frame at or after 250 ms; the
        // stage takes the 300 ms frame next, seen at 600 ms; and so on.
        XCTAssertEqual(visible, ["-", "-", "-", "frame 0", "frame 0", "frame 0", "frame 30", "frame 30", "frame 30", "frame 60"])
        try pipeline.finish()
        try transcript.close()
        XCTAssertEqual(pipeline.metrics.slowStages[0].drops, 6, "frames at 100, 200, 400, 500, 700 and 800 ms")
        XCTAssertEqual(pipeline.metrics.slowStages[0].results, 4)
        let probes = try TestSupport.transcriptEvents(transcriptPath).filter { $0["kind"] as? String == "probe" }
        XCTAssertEqual(probes.map { $0["time_ns"] as? Int }, [300, 600, 900, 1150].map { $0 * 1_000_000 }, "the last result is published at its own time")
        XCTAssertEqual(probes.map { $0["source_time_ns"] as? Int }, [0, 300, 600, 900].map { $0 * 1_000_000 }, "each carries its frame's capture time")
        let ranOn = probe.threads.value
        if workers == 0 {
            XCTAssertEqual(ranOn, ["main"], "inline: on the test's own thread")
        } else {
            XCTAssertTrue(!ranOn.isEmpty && ranOn.allSatisfy { $0.hasPrefix("visor-worker-") }, "threaded: on the workers, ran on \(ranOn)")
            // The workers give way to the frame path: their nice value is the pipeline's, above the test thread's.
            XCTAssertEqual(probe.nicenesses.value, [min(19, WorkerThread.niceness + Pipeline.niceness.slowStages)], "threaded: the workers' nice value")
        }
    }

    /// Inline (0 workers), one worker and two: byte-identical transcripts.
    func testDeterministicTranscriptsMatchWithOneAndTwoWorkersUnderLoad() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var transcripts: [Data] = []
        for (run, workers) in [1, 2, 0, 2, 1].enumerated() {
            var options = ReplayOptions(profile: try profile(latencies: ["codes": 150, "probe": 230]))
            options.deterministic = true
            options.workerThreads = workers
            // A stage that takes a random time, to shake the threads' timing.
            options.slowStages = [try CodesStage(), ProbeStage(delayMicroseconds: { UInt32.random(in: 0...40_000) })]
            options.transcriptPath = dir.appendingPathComponent("run\(run).jsonl").path
            let result = try ReplayRunner(source: SessionSource(path: TestSupport.fixture("codes.mcap")), options: options).run()
            XCTAssertGreaterThan(result.metrics.slowStages[0].drops, 0, "a 150 ms model drops some of the 100 ms frames")
            transcripts.append(try Data(contentsOf: URL(fileURLWithPath: options.transcriptPath!)))
        }
        let text = String(decoding: transcripts[0], as: UTF8.self)
        XCTAssertTrue(text.contains("\"kind\":\"code\",\"payload\":\"Thalassiodracon\""), "the real code reader ran")
        XCTAssertTrue(text.contains("\"kind\":\"probe\""))
        for other in transcripts.dropFirst() { XCTAssertEqual(other, transcripts[0]) }
    }

    func testBusySlowStageDropsFramesWithoutSlowingTheFastPath() throws {
        func run(_ stages: [SlowStage]) throws -> ReplayResult {
            var options = ReplayOptions(profile: try profile(latencies: [:]))
            options.slowStages = stages
            options.speed = .times(4)  // 25 ms between frames: the stage below cannot keep up
            return try ReplayRunner(source: SessionSource(path: TestSupport.fixture("sign.mcap")), options: options).run()
        }
        let baseline = try run([])
        let started = Date()
        // 300 ms a frame: slower than the frames even when a busy machine delivers them at 100 ms
        // rather than 25 (CI saw that with 120 ms, and the stage then kept up with most frames).
        let loaded = try run([ProbeStage(name: "sluggish", delayMicroseconds: { 300_000 })])
        let seconds = Date().timeIntervalSince(started)
        let slow = loaded.metrics.slowStages[0]
        XCTAssertEqual(slow.results + slow.drops, UInt64(loaded.frames), "every frame is either taken or dropped, none queued")
        // The stage takes one frame at a time: no more results than 300 ms slots in the run, the
        // rest dropped (at full speed that is most frames; under a sanitizer, frames come slower).
        XCTAssertLessThanOrEqual(slow.results, UInt64(seconds / 0.3) + 2, "\(seconds) s")
        XCTAssertGreaterThan(slow.drops, UInt64(loaded.frames) / 3, "\(seconds) s")
        let queue = try XCTUnwrap(slow.queueWait.summary)
        XCTAssertLessThan(queue.max, 450_000_000, "a frame never waits behind more than the one being analysed (two would be 600 ms)")
        let before = try XCTUnwrap(baseline.metrics.captureToHUD.summary), after = try XCTUnwrap(loaded.metrics.captureToHUD.summary)
        XCTAssertLessThan(after.p50, max(before.p50 * 3, before.p50 + 2_000_000), "the fast path does not wait for the slow stage")
        // Not the maximum: one scheduling hiccup on a loaded 2-core machine says nothing about flow.
        // The p90 of two runs on a busy machine differs by 3x on its own (CI saw 53 ms then 182 ms):
        // the margin is wide, and still far below the 300 ms a frame would wait behind the stage.
        XCTAssertLessThan(after.p90, max(before.p90 * 4, before.p90 + 5_000_000))
    }

    func testLatencyDoesNotGrowWithTheLengthOfARun() throws {
        var options = ReplayOptions(profile: try profile(latencies: [:]))
        options.slowStages = [ProbeStage(delayMicroseconds: { 3_000 })]
        options.repeatCount = 8
        let result = try ReplayRunner(source: SessionSource(path: TestSupport.fixture("codes.mcap")), options: options).run()
        XCTAssertEqual(result.frames, 560)
        let queue = try XCTUnwrap(result.metrics.slowStages[0].queueWait.summary)
        XCTAssertLessThan(queue.p99, 20_000_000, "no backlog builds up over 560 frames")
    }

    func testStagesMustReadWhatEarlierStagesWrite() throws {
        let options = Pipeline.Options(profile: try profile(latencies: [:]))
        XCTAssertThrowsError(try Pipeline(fastStages: [LightStage(), ConvertStage(schema: "", topic: "")], slowStages: [], options: options)) {
            XCTAssertEqual(($0 as? VisorError)?.message, "stage light reads frame, which no earlier stage writes")
        }
        XCTAssertThrowsError(try Pipeline(fastStages: [ConvertStage(schema: "", topic: ""), LightStage()],
                                          slowStages: [ProbeStage(name: "light")], options: options)) {
            XCTAssertTrue(($0 as? VisorError)?.message.contains("share a name") ?? false)
        }
    }
}

/// The scheduler's every-input stages (speech and the assistant are such), on its own logic: a
/// stage that records the numbers it is given.
final class EveryInputStageTests: XCTestCase {
    final class NumberJob: StageJob {
        var value = 0
    }

    private func scheduler(backlog: Int, mode: SchedulingMode, inline: Bool = false, latency: UInt64 = 50,
                           run: @escaping (NumberJob) -> Void) -> StageScheduler {
        let lane = StageLane(name: "numbers", intake: .everyInput(backlog: backlog), modelledLatencyNanoseconds: latency,
                             budgetNanoseconds: nil, group: 0, makeJob: nil, run: { run($0 as! NumberJob) })
        return StageScheduler(lanes: [lane], groups: [WorkerGroup(threads: 1, threadName: { _ in "test-numbers" }, traceTrack: { _ in "numbers" })],
                              mode: mode, inline: inline, trace: nil)
    }

    private func job(_ value: Int) -> NumberJob {
        let job = NumberJob(lane: 0)
        job.value = value
        return job
    }

    /// Every input, in order, on the stage's thread (or the caller's, inline); deterministic, nothing
    /// is published before every input so far is done, then only what is visible by the frame.
    func testEveryInputInOrderAndPublishedAtItsModelledTime() throws {
        for inline in [false, true] {
            let seen = Locked<[Int]>([]), threads = Locked<Set<String>>([])
            let scheduler = scheduler(backlog: 100, mode: .deterministic, inline: inline) { job in
                usleep(UInt32.random(in: 0...2_000))
                seen.withLock { $0.append(job.value) }
                threads.withLock { _ = $0.insert(Thread.isMainThread ? "main" : (Thread.current.name ?? "?")) }
            }
            for i in 0..<20 { scheduler.submit(job(i), inputTime: UInt64(i * 10), now: 0) }
            var ready: [StageJob] = []
            scheduler.collect(0, upTo: 100, into: &ready)
            XCTAssertEqual(seen.value, Array(0..<20), "inline \(inline): every input done, in order, before anything is published")
            XCTAssertEqual(ready.map { ($0 as! NumberJob).value }, Array(0...5), "visible at input time + 50 ns, by 100 ns")
            scheduler.collect(0, upTo: 100, into: &ready)
            XCTAssertTrue(ready.isEmpty, "published once")
            scheduler.drain(0, into: &ready)
            XCTAssertEqual(ready.map { ($0 as! NumberJob).value }, Array(6..<20))
            XCTAssertEqual(scheduler.metrics(0).results, 20)
            XCTAssertEqual(threads.value, inline ? ["main"] : ["test-numbers"])
            scheduler.shutdown()
        }
    }

    /// A full backlog drops its oldest input (a live microphone cannot wait), or holds the caller
    /// until there is room (audio read from a file is all heard).
    func testAFullBacklogDropsTheOldestOrWaitsForRoom() throws {
        for waits in [false, true] {
            let seen = Locked<[Int]>([])
            let started = DispatchSemaphore(value: 0), gate = DispatchSemaphore(value: 0)
            let scheduler = scheduler(backlog: 3, mode: .freeRunning) { job in
                if job.value == 0 { started.signal(); gate.wait() }
                seen.withLock { $0.append(job.value) }
            }
            scheduler.submit(job(0), inputTime: 0, now: 0)
            started.wait()  // the stage is busy with 0 until the gate opens
            for i in 1...3 { XCTAssertFalse(scheduler.submit(job(i), inputTime: UInt64(i), now: 0)) }
            let returned = Locked<Bool>(false)
            if waits {
                let fourth = job(4)
                let done = DispatchSemaphore(value: 0)
                nonisolated(unsafe) let unsafeJob = fourth
                Thread.detachNewThread {
                    let dropped = scheduler.submit(unsafeJob, inputTime: 4, now: 0, waitWhenFull: true)
                    returned.withLock { $0 = !dropped }
                    done.signal()
                }
                usleep(200_000)
                XCTAssertFalse(returned.value, "the caller waits while the backlog is full")
                gate.signal()
                done.wait()
                XCTAssertTrue(returned.value, "and then submits without a drop")
            } else {
                XCTAssertTrue(scheduler.submit(job(4), inputTime: 4, now: 0), "a full backlog drops")
                gate.signal()
            }
            var ready: [StageJob] = []
            scheduler.drain(0, into: &ready)
            XCTAssertEqual(seen.value, waits ? [0, 1, 2, 3, 4] : [0, 2, 3, 4], "the oldest waiting input is the one dropped")
            XCTAssertEqual(scheduler.metrics(0).drops, waits ? 0 : 1)
            scheduler.shutdown()
        }
    }
}
