import Foundation
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

extension XCTestCase {
    /// Replays a fixture deterministically on the laptop profile, with `configure` choosing the
    /// stages, and returns the events of the transcript whose kinds are in `kinds`.
    func replayEvents(_ fixture: String, kinds: Set<String>, configure: (inout ReplayOptions) throws -> Void = { _ in }) throws -> [[String: Any]] {
        try replayEvents(path: TestSupport.fixture(fixture), kinds: kinds, configure: configure)
    }

    /// As `replayEvents(_:kinds:configure:)`, for a session at any path.
    func replayEvents(path: String, kinds: Set<String>, configure: (inout ReplayOptions) throws -> Void = { _ in }) throws -> [[String: Any]] {
        let dir = try TestSupport.temporaryDirectory(self)
        var options = ReplayOptions(profile: try DeviceProfiles.load("laptop"))
        options.transcriptPath = dir.appendingPathComponent("t.jsonl").path
        options.deterministic = true
        try configure(&options)
        _ = try ReplayRunner(source: SessionSource(path: path), options: options).run()
        return try TestSupport.transcriptEvents(options.transcriptPath!).filter { kinds.contains($0["kind"] as? String ?? "") }
    }
}
