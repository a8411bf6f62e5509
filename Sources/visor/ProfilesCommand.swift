import ArgumentParser
import Foundation
import VisorCore
import VisorRuntime

struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the device profiles, or show one (its figures and where each was published).",
        discussion: "Examples:\n  visor profiles\n  visor profiles even-g1\n  visor profiles ./my-glasses.json"
    )

    @Argument(help: "A profile name or file to show in full.")
    var profile: String?

    func run() throws {
        try reportingErrors {
            if let profile {
                let p = try DeviceProfiles.load(profile)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(p), as: UTF8.self))
                return
            }
            let all = try DeviceProfiles.shipped()
            print("name                   display              colour      eye    fov    camera           budget")
            for p in all {
                let d = p.display
                let camera = p.camera.map { "\($0.widthPixels)x\($0.heightPixels)@\(Int($0.framesPerSecond))" } ?? "none"
                let line = [p.name.padding(toLength: 23, withPad: " ", startingAt: 0),
                            "\(d.widthPixels)x\(d.heightPixels)".padding(toLength: 21, withPad: " ", startingAt: 0),
                            d.colour.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0),
                            d.eye.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0),
                            "\(Int(d.fieldOfViewDegrees))°".padding(toLength: 7, withPad: " ", startingAt: 0),
                            camera.padding(toLength: 17, withPad: " ", startingAt: 0),
                            String(format: "%.1f ms", p.frameBudgetMilliseconds)]
                print(line.joined() + (p.name == DeviceProfiles.defaultName ? "  (default)" : ""))
            }
        }
    }
}
