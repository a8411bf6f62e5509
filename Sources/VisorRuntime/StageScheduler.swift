import Dispatch
import Foundation
import VisorCore

/// How asynchronous stages' results become visible.
public enum SchedulingMode: Sendable, Equatable {
    /// Results are published at the first frame after a worker finishes: real time, live and paced.
    case freeRunning
    /// A result is published at the first frame captured at or after its input's time plus the
    /// stage's modelled latency (from the device profile), whatever the threads do; a newest-only
    /// stage takes a new frame only once its last result is published. Two runs of a session give
    /// the same transcript.
    case deterministic
}

/// One unit of work of an asynchronous stage. What it consumes and produces is the subclass's
/// (a frame and what was found in it, an audio block and what was heard, a request and its
/// reply); its times are the scheduler's.
class StageJob {
    let lane: Int
    /// Session time of what the job consumes: a frame's capture, the end of an audio block, the
    /// time something heard was published.
    var inputTimeNanoseconds: UInt64 = 0
    /// Virtual time at which the result becomes visible (deterministic mode): the input's time
    /// plus the stage's modelled latency.
    var visibleAtNanoseconds: UInt64 = 0
    var submittedAt: UInt64 = 0
    var startedAt: UInt64 = 0
    var finishedAt: UInt64 = 0

    init(lane: Int) { self.lane = lane }

    var processingNanoseconds: UInt64 { finishedAt &- startedAt }
    var queueWaitNanoseconds: UInt64 { startedAt &- submittedAt }
}

/// What the scheduler knows of one asynchronous stage.
struct StageLane {
    enum Intake {
        /// The newest input only (camera frames): a busy stage drops what it cannot take.
        /// Free-running, it keeps one pending input, the newest, and takes it when done;
        /// deterministic, it takes an input only once its last result is published. The lane's
        /// jobs (three) are reused with their buffers: `offer` does not allocate once they have grown.
        case newestOnly
        /// Every input, in order (microphone audio, what was heard). A backlog of `backlog`
        /// inputs makes `submit` wait for room or drop the oldest, as the caller asks.
        /// Deterministic: nothing is published until every input submitted so far is done, so
        /// that what the stage keeps between inputs (the listener's state) is that of all of them.
        case everyInput(backlog: Int)
    }

    var name: String
    var intake: Intake
    /// A result is visible at its input's time plus this (deterministic mode).
    var modelledLatencyNanoseconds: UInt64
    /// The budget its processing time is held to in the metrics.
    var budgetNanoseconds: UInt64?
    /// The worker group that runs it: stages that must not wait behind one another (the camera's
    /// readers, the listener, the assistant) are in different groups. An every-input lane's group
    /// has one thread, which keeps its inputs in order.
    var group: Int
    /// Makes a reusable job, given the lane's index (newest-only lanes; the callers of an
    /// every-input lane make a job per input).
    var makeJob: ((Int) -> StageJob)?
    /// Does one job's work, on a worker of its group (or on the calling thread when inline).
    var run: (StageJob) -> Void
}

/// Threads that share a queue of jobs.
struct WorkerGroup {
    var threads: Int
    /// The name of its thread `i` (the OS's thread name) and of its track in a trace.
    var threadName: (Int) -> String
    var traceTrack: (Int) -> String
    /// The threads' nice value: above 0, they give way to the frame path on a busy machine.
    var niceness: Int32 = 0
}

/// Per-stage figures the scheduler keeps as it publishes.
public struct StageMetrics {
    public var name: String
    /// Processing time of each job published.
    public var latency: LatencySeries
    /// From handing the input to the stage to a worker starting on it.
    public var queueWait = LatencySeries()
    /// Inputs the stage did not take because it was busy (newest only), or dropped from a full backlog.
    public var drops: UInt64 = 0
    /// Results published.
    public var results: UInt64 = 0
}

/// The one scheduler of the runtime's asynchronous stages: the slow perception stages on the
/// newest frame, the speech stage on every audio block, the assistant on everything heard. It
/// owns when a result becomes visible on the virtual clock (`SchedulingMode`), what is dropped,
/// the queue wait and the stages' metrics.
///
/// Workers are in groups, each group with its own queue. With `inline` it starts no thread: each
/// job runs on the calling thread as it is offered or submitted, so that a test steps the stages
/// frame by frame (as SwiftNIO's `EmbeddedEventLoop`); on the virtual clock the results, and so the
/// transcripts, are those of a threaded run.
///
/// All state is guarded by one condition lock; the caller never waits on it except, in
/// deterministic mode, for a result that is due (or for a backlog to have room, when asked). A
/// lane has at most one job running at a time, so a stage may keep state between inputs.
/// `@unchecked Sendable` for those rules, which the compiler cannot see.
final class StageScheduler: @unchecked Sendable {
    private struct Slot {
        var free: [StageJob] = []
        /// Newest-only: the job queued or running. Every-input: unused.
        var inFlight: StageJob?
        /// Newest-only, free-running: the newest input, waiting for the running job to end.
        var pending: StageJob?
        /// Every-input: jobs submitted and not finished.
        var outstanding = 0
        var finished: [StageJob] = []
        /// The job finished last, published or not.
        var latest: StageJob?
        var metrics: StageMetrics
    }

    private let lanes: [StageLane]
    private let mode: SchedulingMode
    private let condition = NSCondition()
    private var slots: [Slot]
    private var queues: [[StageJob]]
    private var stopping = false
    private var threads: [WorkerThread] = []
    private let trace: TraceRecorder?
    private var traceNames: [Int32] = []
    private var traceTracks: [[Int32]] = []
    private var callerTrack: Int32 = 0
    private let inline: Bool

    init(lanes: [StageLane], groups: [WorkerGroup], mode: SchedulingMode, inline: Bool, trace: TraceRecorder?) {
        self.lanes = lanes
        self.mode = mode
        self.trace = trace
        self.inline = inline
        slots = lanes.indices.map { i in
            var slot = Slot(metrics: StageMetrics(name: lanes[i].name, latency: LatencySeries(budgetNanoseconds: lanes[i].budgetNanoseconds)))
            if case .newestOnly = lanes[i].intake, let make = lanes[i].makeJob { slot.free = (0..<3).map { _ in make(i) } }
            return slot
        }
        queues = groups.map { _ in [] }
        for i in queues.indices { queues[i].reserveCapacity(8) }
        for lane in lanes {
            precondition(groups.indices.contains(lane.group), "stage \(lane.name): no worker group \(lane.group)")
            if case .everyInput = lane.intake { precondition(groups[lane.group].threads == 1, "stage \(lane.name): an every-input stage's group has one thread") }
        }
        if let trace {
            traceNames = lanes.map { trace.nameIndex($0.name) }
            callerTrack = trace.trackIndex(inline ? "async stages (inline)" : "async stages (on the frame thread)")
            traceTracks = groups.map { group in
                inline ? [trace.trackIndex("async stages (inline)")] : (0..<group.threads).map { trace.trackIndex(group.traceTrack($0)) }
            }
        }
        guard !inline else { return }
        for (g, group) in groups.enumerated() where lanes.contains(where: { $0.group == g }) {
            for index in 0..<group.threads {
                threads.append(WorkerThread(name: group.threadName(index), niceness: group.niceness) { [unowned self] in self.workerLoop(group: g, index: index) })
            }
        }
    }

    private func workerLoop(group: Int, index: Int) {
        while true {
            condition.lock()
            while queues[group].isEmpty && !stopping { condition.wait() }
            if queues[group].isEmpty && stopping { condition.unlock(); return }
            let job = queues[group].removeFirst()
            condition.unlock()
            execute(job, worker: index)
        }
    }

    /// Runs the job's work; called without the lock.
    private func execute(_ job: StageJob, worker index: Int, onCaller: Bool = false) {
        job.startedAt = DispatchTime.now().uptimeNanoseconds
        lanes[job.lane].run(job)
        job.finishedAt = DispatchTime.now().uptimeNanoseconds
        if let trace {
            let tracks = traceTracks[lanes[job.lane].group]
            let track = onCaller ? callerTrack : tracks[min(index, tracks.count - 1)]
            trace.record(name: traceNames[job.lane], track: track, start: job.startedAt, end: job.finishedAt)
        }

        condition.lock()
        var slot = slots[job.lane]
        switch lanes[job.lane].intake {
        case .newestOnly:
            slot.inFlight = nil
            if mode == .freeRunning, let next = slot.pending {
                slot.pending = nil
                slot.inFlight = next
                queues[lanes[job.lane].group].append(next)
            }
        case .everyInput:
            slot.outstanding -= 1
        }
        slot.finished.append(job)
        slot.latest = job
        slots[job.lane] = slot
        condition.broadcast()
        condition.unlock()
    }

    /// Inline: runs what was queued, on the calling thread, until nothing is.
    private func runQueued() {
        while true {
            condition.lock()
            guard let g = queues.firstIndex(where: { !$0.isEmpty }) else { condition.unlock(); return }
            let job = queues[g].removeFirst()
            condition.unlock()
            execute(job, worker: 0)
        }
    }

    /// Offers an input to a newest-only stage. `load` fills a reusable job with it (called with
    /// the lock held: a copy, no more). Free-running: an idle stage starts on it; a busy one keeps
    /// it as its pending input, replacing (dropping) any older one. Deterministic: a stage whose
    /// last result is published takes it; any other drops it.
    /// - Returns: whether an input was dropped.
    @discardableResult
    func offer(_ lane: Int, inputTime: UInt64, now: UInt64, load: (StageJob) -> Void) -> Bool {
        defer { if inline { runQueued() } }
        condition.lock()
        defer { condition.unlock() }
        var slot = slots[lane]
        var dropped = false
        let group = lanes[lane].group
        func take(_ job: StageJob) {
            load(job)
            job.inputTimeNanoseconds = inputTime
            job.visibleAtNanoseconds = inputTime + lanes[lane].modelledLatencyNanoseconds
            job.submittedAt = now
        }
        switch mode {
        case .deterministic:
            if slot.inFlight == nil && slot.finished.isEmpty, let job = slot.free.popLast() {
                take(job)
                slot.inFlight = job
                queues[group].append(job)
            } else {
                dropped = true
            }
        case .freeRunning:
            if slot.inFlight == nil, let job = slot.free.popLast() {
                take(job)
                slot.inFlight = job
                queues[group].append(job)
            } else if let job = slot.pending ?? slot.free.popLast() {
                if slot.pending != nil { dropped = true }
                take(job)
                slot.pending = job
            } else {
                dropped = true
            }
        }
        if dropped { slot.metrics.drops += 1 }
        slots[lane] = slot
        condition.broadcast()
        return dropped
    }

    /// Submits an input to an every-input stage, or, with `onCaller`, runs it now on the calling
    /// thread (an answer that must not wait behind the queue). A full backlog makes the caller
    /// wait for room (`waitWhenFull`: audio read from a file) or drops the oldest input not yet
    /// started (a live microphone cannot wait).
    /// - Returns: whether an input was dropped.
    @discardableResult
    func submit(_ job: StageJob, inputTime: UInt64, now: UInt64, waitWhenFull: Bool = false, onCaller: Bool = false) -> Bool {
        let lane = job.lane
        guard case .everyInput(let backlog) = lanes[lane].intake else { preconditionFailure("stage \(lanes[lane].name) takes the newest input only") }
        job.inputTimeNanoseconds = inputTime
        job.visibleAtNanoseconds = inputTime + lanes[lane].modelledLatencyNanoseconds
        job.submittedAt = now
        condition.lock()
        slots[lane].outstanding += 1
        if onCaller {
            condition.unlock()
            execute(job, worker: 0, onCaller: true)
            return false
        }
        let group = lanes[lane].group
        var dropped = false
        if waitWhenFull { while queues[group].count >= backlog && !inline { condition.wait() } }
        if queues[group].count >= backlog, let oldest = queues[group].firstIndex(where: { $0.lane == lane }) {
            queues[group].remove(at: oldest)
            slots[lane].outstanding -= 1
            slots[lane].metrics.drops += 1
            dropped = true
        }
        queues[group].append(job)
        condition.broadcast()
        condition.unlock()
        if inline { runQueued() }
        return dropped
    }

    /// The lane's jobs whose results are to be published at a frame captured at `sessionTime`,
    /// in order; their figures go into the lane's metrics. Deterministic mode (unless
    /// `freeRunning`: a microphone alone has no frame to publish at) waits for a due job that a
    /// worker has not finished, and an every-input stage for all its inputs.
    func collect(_ lane: Int, upTo sessionTime: UInt64, freeRunning: Bool = false, into ready: inout [StageJob]) {
        ready.removeAll(keepingCapacity: true)
        condition.lock()
        defer { condition.unlock() }
        if mode == .deterministic && !freeRunning {
            switch lanes[lane].intake {
            case .newestOnly:
                if let job = slots[lane].inFlight, job.visibleAtNanoseconds <= sessionTime {
                    while slots[lane].finished.isEmpty { condition.wait() }
                }
            case .everyInput:
                while slots[lane].outstanding > 0 { condition.wait() }
            }
            while let job = slots[lane].finished.first, job.visibleAtNanoseconds <= sessionTime {
                slots[lane].finished.removeFirst()
                ready.append(job)
            }
        } else {
            ready.append(contentsOf: slots[lane].finished)
            slots[lane].finished.removeAll(keepingCapacity: true)
        }
        for job in ready { record(job) }
    }

    /// Waits for every input of the lane in flight, pending or queued, and returns all it has not
    /// published.
    func drain(_ lane: Int, into ready: inout [StageJob]) {
        ready.removeAll(keepingCapacity: true)
        condition.lock()
        defer { condition.unlock() }
        while slots[lane].inFlight != nil || slots[lane].pending != nil || slots[lane].outstanding > 0 { condition.wait() }
        ready.append(contentsOf: slots[lane].finished)
        slots[lane].finished.removeAll(keepingCapacity: true)
        for job in ready { record(job) }
    }

    /// With the lock held.
    private func record(_ job: StageJob) {
        slots[job.lane].metrics.latency.record(job.processingNanoseconds)
        slots[job.lane].metrics.queueWait.record(job.queueWaitNanoseconds)
        slots[job.lane].metrics.results += 1
    }

    /// Returns a published job to its stage, to be reused (newest-only stages).
    func recycle(_ job: StageJob) {
        guard case .newestOnly = lanes[job.lane].intake else { return }
        condition.lock()
        slots[job.lane].free.append(job)
        condition.unlock()
    }

    /// The lane's job finished last, published or not (deterministic: once `collect` has waited,
    /// the last input submitted): what the stage's state is now, such as the listener's level.
    func latest(_ lane: Int) -> StageJob? {
        condition.lock()
        defer { condition.unlock() }
        return slots[lane].latest
    }

    /// A lane's figures so far.
    func metrics(_ lane: Int) -> StageMetrics {
        condition.lock()
        defer { condition.unlock() }
        return slots[lane].metrics
    }

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        for thread in threads { thread.join() }
        threads.removeAll()
    }

    deinit { if !stopping { shutdown() } }
}
