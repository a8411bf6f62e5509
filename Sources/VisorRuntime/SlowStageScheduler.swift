import Dispatch
import Foundation
import VisorCore

/// How slow stages' results become visible.
public enum SchedulingMode: Sendable, Equatable {
    /// Results are published at the first frame after a worker finishes: real time, live and paced.
    case freeRunning
    /// A result is published at the first frame captured at or after the source frame's capture
    /// time plus the stage's modelled latency (from the device profile), whatever the threads do;
    /// a stage takes a new frame only once its last result is published. Two runs of a session
    /// give the same transcript.
    case deterministic
}

/// One unit of work for a slow stage. Each stage owns a few and reuses them, with their frame
/// buffers, so handing a frame to a stage does not allocate once the buffers have grown.
final class SlowJob {
    let stage: Int
    var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
    var sessionTimeNanoseconds: UInt64 = 0
    /// Virtual time at which the result becomes visible (deterministic mode).
    var visibleAtNanoseconds: UInt64 = 0
    var submittedAt: UInt64 = 0
    var startedAt: UInt64 = 0
    var finishedAt: UInt64 = 0
    var worker = 0
    var output: Result<SlowStageOutput, Error>?

    init(stage: Int) { self.stage = stage }

    func load(_ source: Frame, sessionTime: UInt64) {
        if frame.pixels.count != source.pixels.count { frame.pixels = [UInt8](repeating: 0, count: source.pixels.count) }
        frame.pixels.withUnsafeMutableBufferPointer { dst in
            source.pixels.withUnsafeBufferPointer { src in dst.baseAddress!.update(from: src.baseAddress!, count: src.count) }
        }
        frame.widthPixels = source.widthPixels
        frame.heightPixels = source.heightPixels
        frame.captureTimeNanoseconds = source.captureTimeNanoseconds
        sessionTimeNanoseconds = sessionTime
        output = nil
    }
}

/// Runs slow stages on a pool of worker threads, newest frame only, and hands back finished jobs.
/// With no worker threads it runs inline: each job is analysed on the calling thread as it is
/// offered, so that a test steps the stages frame by frame (as SwiftNIO's `EmbeddedEventLoop`);
/// on the virtual clock the results, and so the transcripts, are those of a threaded run.
/// All state is guarded by one condition lock; the frame thread never waits on it except, in
/// deterministic mode, for a result that is due. A stage is analysed by one worker at a time (its
/// slot has one job in flight), so a stage may keep state between frames. `@unchecked Sendable`
/// for those two rules, which the compiler cannot see.
final class SlowStageScheduler: @unchecked Sendable {
    private struct StageSlot {
        var free: [SlowJob]
        var inFlight: SlowJob?
        var pending: SlowJob?
        var finished: [SlowJob] = []
    }

    private let stages: [SlowStage]
    private let mode: SchedulingMode
    private let modelledLatency: [UInt64]
    private let condition = NSCondition()
    private var slots: [StageSlot]
    private var queue: [SlowJob] = []
    private var stopping = false
    private var threads: [WorkerThread] = []
    private let trace: TraceRecorder?
    private var traceNames: [Int32] = []
    private var traceTracks: [Int32] = []
    private let inline: Bool

    init(stages: [SlowStage], mode: SchedulingMode, modelledLatency: [UInt64], workerThreads: Int, trace: TraceRecorder?) {
        self.stages = stages
        self.mode = mode
        self.modelledLatency = modelledLatency
        self.trace = trace
        inline = workerThreads == 0
        slots = stages.indices.map { i in StageSlot(free: (0..<3).map { _ in SlowJob(stage: i) }) }
        queue.reserveCapacity(stages.count * 2)
        if let trace {
            traceNames = stages.map { trace.nameIndex($0.name) }
            traceTracks = inline ? [trace.trackIndex("slow stages (inline)")] : (0..<workerThreads).map { trace.trackIndex("worker \($0 + 1)") }
        }
        guard !stages.isEmpty, !inline else { return }
        for index in 0..<max(1, workerThreads) {
            threads.append(WorkerThread(name: "visor-worker-\(index + 1)") { [unowned self] in self.workerLoop(index) })
        }
    }

    private func workerLoop(_ index: Int) {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping { condition.unlock(); return }
            let job = queue.removeFirst()
            condition.unlock()
            execute(job, worker: index)
        }
    }

    /// Analyses the job's frame; called without the lock.
    private func execute(_ job: SlowJob, worker index: Int) {
        job.worker = index
        job.startedAt = DispatchTime.now().uptimeNanoseconds
        job.output = Result { try stages[job.stage].analyze(job.frame) }
        job.finishedAt = DispatchTime.now().uptimeNanoseconds
        if let trace { trace.record(name: traceNames[job.stage], track: traceTracks[index], start: job.startedAt, end: job.finishedAt) }

        condition.lock()
        var slot = slots[job.stage]
        slot.inFlight = nil
        slot.finished.append(job)
        if mode == .freeRunning, let next = slot.pending {
            slot.pending = nil
            slot.inFlight = next
            queue.append(next)
        }
        slots[job.stage] = slot
        condition.broadcast()
        condition.unlock()
    }

    /// Inline: analyses what was queued, on the calling thread, until nothing is.
    private func runQueued() {
        while true {
            condition.lock()
            guard !queue.isEmpty else { condition.unlock(); return }
            let job = queue.removeFirst()
            condition.unlock()
            execute(job, worker: 0)
        }
    }

    /// Offers the frame to every slow stage that wants it. Returns, per stage, whether it was dropped.
    /// Free-running: an idle stage starts on it; a busy one keeps it as its pending frame,
    /// replacing (dropping) any older pending one. Deterministic: a stage whose last result is
    /// published takes it; any other drops it.
    func offer(_ frame: Frame, sessionTime: UInt64, now: UInt64, wanted: [Bool], dropped: inout [Bool]) {
        defer { if inline { runQueued() } }
        condition.lock()
        defer { condition.unlock() }
        for i in stages.indices {
            dropped[i] = false
            guard wanted[i] else { continue }
            var slot = slots[i]
            switch mode {
            case .deterministic:
                guard slot.inFlight == nil && slot.finished.isEmpty, let job = slot.free.popLast() else { dropped[i] = true; continue }
                job.load(frame, sessionTime: sessionTime)
                job.visibleAtNanoseconds = sessionTime + modelledLatency[i]
                job.submittedAt = now
                slot.inFlight = job
                queue.append(job)
            case .freeRunning:
                if slot.inFlight == nil, let job = slot.free.popLast() {
                    job.load(frame, sessionTime: sessionTime)
                    job.submittedAt = now
                    slot.inFlight = job
                    queue.append(job)
                } else if let job = slot.pending ?? slot.free.popLast() {
                    if slot.pending != nil { dropped[i] = true }
                    job.load(frame, sessionTime: sessionTime)
                    job.submittedAt = now
                    slot.pending = job
                } else {
                    dropped[i] = true
                }
            }
            slots[i] = slot
        }
        condition.signal()
    }

    /// The jobs whose results are to be published at a frame captured at `sessionTime`, in stage
    /// order. Deterministic mode waits for a due job that a worker has not finished yet.
    func collect(upTo sessionTime: UInt64, into ready: inout [SlowJob]) {
        ready.removeAll(keepingCapacity: true)
        condition.lock()
        defer { condition.unlock() }
        for i in stages.indices {
            switch mode {
            case .deterministic:
                if let job = slots[i].inFlight, job.visibleAtNanoseconds <= sessionTime {
                    while slots[i].finished.isEmpty { condition.wait() }
                }
                if let job = slots[i].finished.first, job.visibleAtNanoseconds <= sessionTime {
                    slots[i].finished.removeFirst()
                    ready.append(job)
                }
            case .freeRunning:
                ready.append(contentsOf: slots[i].finished)
                slots[i].finished.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Waits for every job in flight (and, free-running, pending) and returns them all.
    func drain(into ready: inout [SlowJob]) {
        ready.removeAll(keepingCapacity: true)
        condition.lock()
        defer { condition.unlock() }
        while slots.contains(where: { $0.inFlight != nil || $0.pending != nil }) { condition.wait() }
        for i in stages.indices {
            ready.append(contentsOf: slots[i].finished)
            slots[i].finished.removeAll(keepingCapacity: true)
        }
    }

    /// Returns a published job's buffers to its stage.
    func recycle(_ job: SlowJob) {
        condition.lock()
        job.output = nil
        slots[job.stage].free.append(job)
        condition.unlock()
    }

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        for thread in threads { thread.join() }
    }

    deinit { if !stopping { shutdown() } }
}
