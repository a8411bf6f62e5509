import ArgumentParser
import Foundation
import VisorCore
import VisorDevices

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the cameras (every V4L2 capture device, with its formats, sizes and frame rates) and the ALSA capture and playback PCMs.",
        discussion: "Examples:\n  visor devices\n  visor devices --camera /tmp/cam/video0"
    )

    @Option(help: "Also describe this camera device (a virtual camera, say); repeatable.")
    var camera: [String] = []

    func run() throws {
        try reportingErrors {
            let found = ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? [])
                .filter { $0.hasPrefix("video") }.sorted().map { "/dev/\($0)" }
            let paths = found + camera
            print("cameras:")
            if paths.isEmpty { print("  none (no /dev/video* devices; `visor vcam` serves a recording as one)") }
            for path in paths {
                do {
                    let device = try V4L2Camera(path: path).describe()
                    print("  \(path): \(device.card) (\(device.driver))")
                    var byFormat: [String: [String]] = [:]
                    var order: [String] = []
                    for mode in device.modes {
                        let key = mode.format.description
                        if byFormat[key] == nil { order.append(key) }
                        let rates = mode.framesPerSecond.map { String(format: "%g", $0) }.joined(separator: "/")
                        byFormat[key, default: []].append("\(mode.widthPixels)x\(mode.heightPixels)@\(rates)")
                    }
                    for key in order { print("    \(key): \(byFormat[key]!.joined(separator: ", "))") }
                } catch {
                    print("  \(path): not usable: \(oneLine(error))")
                }
            }
            let pcms = alsaPCMs()
            for (title, wanted) in [("microphones (ALSA capture PCMs):", true), ("speakers (ALSA playback PCMs):", false)] {
                print(title)
                let list = pcms.filter { wanted ? $0.capture : $0.playback }
                if list.isEmpty { print("  none") }
                for pcm in list { print("  \(pcm.name)\(pcm.description.isEmpty ? "" : ": \(pcm.description)")") }
            }
        }
    }
}
