import ArgumentParser
import Foundation
import VisorAssistant
import VisorCore

/// `visor memory`: what the assistant remembers, kept across runs.
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "List, search or forget what the assistant remembers (notes, readings, photos).",
        discussion: """
        Examples:
          visor memory list
          visor memory search car
          visor memory forget 12
          visor memory forget --all
        """,
        subcommands: [List.self, Search.self, Forget.self]
    )

    struct Location: ParsableArguments {
        @Option(help: ArgumentHelp("The memory file (default $XDG_DATA_HOME/visor/memory.sqlite).", valueName: "FILE"))
        var memory: String?

        func open() throws -> Memory {
            let path = memory ?? RuntimeOptions.defaultMemoryPath
            return try Memory(path: path)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest entries first.")
        @OptionGroup var location: Location
        @Option(help: "At most this many entries (default 50).")
        var limit: Int = 50

        func validate() throws { guard limit > 0 else { throw ValidationError("--limit must be 1 or more") } }

        func run() throws {
            try reportingErrors {
                let entries = try location.open().list(limit: limit)
                if entries.isEmpty { print("memory is empty"); return }
                for e in entries { print(MemoryCommand.line(e)) }
            }
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries matching any of the words, best first.")
        @OptionGroup var location: Location
        @Argument(help: "Words to look for.")
        var words: [String]

        func validate() throws { guard !words.isEmpty else { throw ValidationError("give words to search for") } }

        func run() throws {
            try reportingErrors {
                let entries = try location.open().search(words.joined(separator: " "))
                if entries.isEmpty { print("nothing found for \"\(words.joined(separator: " "))\""); return }
                for e in entries { print(MemoryCommand.line(e)) }
            }
        }
    }

    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget one entry (by its id) or everything (--all); deleted data is overwritten.")
        @OptionGroup var location: Location
        @Flag(help: "Forget every entry and photo, and rebuild the file so nothing deleted stays in it.")
        var all = false
        @Argument(help: "The id of the entry to forget (from `visor memory list`).")
        var id: Int64?

        func validate() throws {
            if all == (id != nil) { throw ValidationError("give an entry's id or --all") }
        }

        func run() throws {
            try reportingErrors {
                let memory = try location.open()
                if all {
                    let n = try memory.forgetAll()
                    print("forgot \(n) entr\(n == 1 ? "y" : "ies")")
                } else if let id {
                    guard try memory.forget(id: id) else { throw VisorError("no entry \(id) in \(memory.path)") }
                    print("forgot entry \(id)")
                }
            }
        }
    }

    static func line(_ e: MemoryEntry) -> String {
        var text = "\(e.id)\t\(e.recordedAt)\t\(e.kind.rawValue)\t\(e.text)"
        if let photo = e.photoPath { text += "\t\(photo)" }
        return String(text.unicodeScalars.map { $0.value < 0x20 && $0 != "\t" ? "?" : Character($0) })
    }
}
