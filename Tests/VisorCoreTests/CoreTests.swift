import Foundation
import Synchronization
import VisorCore
import XCTest

final class WorkerThreadTests: XCTestCase {
    func testJoinWaitsForTheBodyAndReturnsAtOnceAfter() {
        let done = Locked(false)
        let thread = WorkerThread(name: "visor-test") {
            usleep(50_000)
            done.withLock { $0 = true }
        }
        XCTAssertFalse(thread.hasFinished, "still sleeping")
        thread.join()
        XCTAssertTrue(done.value)
        XCTAssertTrue(thread.hasFinished)
        thread.join()  // a second join returns at once
        XCTAssertTrue(thread.join(timeoutSeconds: 0))
    }

    func testJoinWithATimeoutGivesUpOnABodyThatHangs() {
        let release = DispatchSemaphore(value: 0)
        let thread = WorkerThread(name: "visor-test-hang") { release.wait() }
        XCTAssertFalse(thread.join(timeoutSeconds: 0.05), "the body has not returned")
        release.signal()
        XCTAssertTrue(thread.join(timeoutSeconds: 10))
    }

    /// The frame path's thread asks for a short slice; the slow workers it starts run with the
    /// kernel's default one, not the short one a thread would otherwise inherit.
    func testTheFramePathsShortSliceIsNotInheritedByLowPriorityWorkers() throws {
        let slices = Locked<(frame: UInt64, worker: UInt64, peer: UInt64, default: UInt64)>((0, 0, 0, 0))
        WorkerThread(name: "visor-test-frame") {
            // A thread inherits its starter's slice; this test's may have run a replay in process.
            WorkerThread.restoreDefaultSlice()
            let before = WorkerThread.sliceNanoseconds
            guard WorkerThread.requestShortSlice() else { return }
            let frame = WorkerThread.sliceNanoseconds
            let worker = Locked<UInt64>(0), peer = Locked<UInt64>(0)
            WorkerThread(name: "visor-test-slow", niceness: 15) { worker.withLock { $0 = WorkerThread.sliceNanoseconds } }.join()
            WorkerThread(name: "visor-test-peer") { peer.withLock { $0 = WorkerThread.sliceNanoseconds } }.join()
            slices.withLock { $0 = (frame, worker.value, peer.value, before) }
        }.join()
        let seen = slices.value
        try XCTSkipIf(seen.frame == 0, "this kernel takes no time slice from sched_setattr (Linux before 6.12)")
        XCTAssertEqual(seen.frame, WorkerThread.frameSliceNanoseconds)
        XCTAssertEqual(seen.peer, WorkerThread.frameSliceNanoseconds, "a thread at the same priority inherits it")
        XCTAssertEqual(seen.worker, seen.default, "a slow worker goes back to the default slice")
        XCTAssertGreaterThan(seen.worker, WorkerThread.frameSliceNanoseconds)
    }

    func testLockedCountsEveryIncrementFromManyThreads() {
        let count = Locked(0)
        let threads = (0..<4).map { i in
            WorkerThread(name: "visor-test-\(i)") { for _ in 0..<10_000 { count.withLock { $0 += 1 } } }
        }
        threads.forEach { $0.join() }
        XCTAssertEqual(count.value, 40_000)
    }
}

final class ContractTests: XCTestCase {
    func testPixelRectEdgesAndRounding() {
        let r = PixelRect(x: 10, y: 20, width: 30, height: 40)
        XCTAssertEqual([r.maxX, r.maxY, r.area], [40, 60, 1200])
        XCTAssertEqual(r.values, [10, 20, 30, 40])
        XCTAssertEqual(r.description, "[10, 20, 30, 40]")
        XCTAssertEqual(PixelRect(rounding: [9.6, 20.4, 29.5, 40.49]), r)
        let literal: PixelRect = [10, 20, 30, 40]
        XCTAssertEqual(literal, r)
    }

    func testVoiceIntentsAndEventKindsKeepTheirTranscriptNames() {
        XCTAssertEqual(VoiceIntent.whatAmILookingAt.rawValue, "what_am_i_looking_at")
        XCTAssertEqual(VoiceIntent(rawValue: "go_on"), .goOn)
        XCTAssertEqual(Set(VoiceIntent.allCases.map(\.rawValue)).count, VoiceIntent.allCases.count)
        XCTAssertEqual(EventKind.sceneChange.rawValue, "scene_change")
        XCTAssertEqual(EventKind.stageError.rawValue, "stage_error")
        XCTAssertEqual(HeadMotion(rawValue: "walking"), .walking)
        let command = HeardSpeech(command: .readThis, words: "read this", startNanoseconds: 1, endNanoseconds: 2)
        XCTAssertEqual(command.kind, .command)
        XCTAssertEqual(command.intent, .readThis)
        XCTAssertEqual(command.label, "read_this", "what the transcript says")
        XCTAssertNil(HeardSpeech(kind: .wake, label: "hey glasses", words: "hey glasses", startNanoseconds: 1, endNanoseconds: 2).intent)
    }
}
