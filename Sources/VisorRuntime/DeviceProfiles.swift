import Foundation
import VisorCore

/// The device profiles Visor ships (JSON files in the package's resources), and loading a
/// profile by name or by path.
public enum DeviceProfiles {
    public static let defaultName = "laptop"

    private static var directory: URL? { Bundle.module.url(forResource: "Profiles", withExtension: nil) }

    /// Every shipped profile, by name.
    public static func shipped() throws -> [DeviceProfile] {
        guard let directory else { throw VisorError("Visor's device profiles are missing from its installation") }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
        return try files.map { try checked(DeviceProfile.load(from: Data(contentsOf: $0), source: $0.lastPathComponent), source: $0.lastPathComponent) }
            .sorted { $0.name < $1.name }
    }

    /// The profile, once its modelled latencies fit the registered stages.
    private static func checked(_ profile: DeviceProfile, source: String) throws -> DeviceProfile {
        if let problem = StageRegistry.latencyProblem(profile) { throw VisorError("profile \(source): \(problem)") }
        return profile
    }

    /// True when `--profile` names a shipped profile rather than a file.
    public static func isName(_ nameOrPath: String) -> Bool { !(nameOrPath.contains("/") || nameOrPath.hasSuffix(".json")) }

    /// A shipped profile by name, or a profile file by path (anything with a `/` or ending in `.json`).
    /// - Throws: `VisorError` naming the profile and the field at fault, or listing the names there are.
    public static func load(_ nameOrPath: String) throws -> DeviceProfile {
        if !isName(nameOrPath) {
            let data = try InputFile.read(nameOrPath, role: "profile file", limitBytes: 1 << 20)
            return try checked(DeviceProfile.load(from: Data(data), source: nameOrPath), source: nameOrPath)
        }
        let all = try shipped()
        guard let profile = all.first(where: { $0.name == nameOrPath }) else {
            throw VisorError("no device profile named \(nameOrPath) (profiles: \(all.map(\.name).joined(separator: ", ")))")
        }
        return profile
    }
}
