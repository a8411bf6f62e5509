import VisorCore
import XCTest
@testable import VisorPerception

/// Reading wake phrases and commands out of a recogniser's text.
final class SpokenCommandsTests: XCTestCase {
    let commands = SpokenCommands(wakePhrases: SpeechListener.defaultWakePhrases)

    func testWordsDropCasePunctuationAndContractions() {
        XCTAssertEqual(SpokenCommands.words("Hey, glasses! What's this?"), ["hey", "glasses", "what", "is", "this"])
        XCTAssertEqual(SpokenCommands.words("OK glasses. Where's my car?"), ["okay", "glasses", "where", "is", "my", "car"])
    }

    func testTheWakePhraseIsFoundAsWhisperWritesIt() {
        for text in ["Hey glasses.", "Hey, glasses!", "hay glasses", "OK glasses", "Okay, glasses. What time is it?"] {
            XCTAssertNotNil(commands.wake(in: SpokenCommands.words(text)), text)
        }
        for text in ["I left my glasses on the table.", "Thank you, glasses.", "Hey there."] {
            XCTAssertNil(commands.wake(in: SpokenCommands.words(text)), text)
        }
        XCTAssertEqual(commands.wake(in: SpokenCommands.words("um, okay glasses, stop"))?.range, 1..<3)
    }

    func testCommandsInTheirPhrasings() {
        func intent(_ text: String) -> VoiceIntent? { commands.command(in: SpokenCommands.words(text))?.intent }
        XCTAssertEqual(intent("What am I looking at?"), .whatAmILookingAt)
        XCTAssertEqual(intent("What's this?"), .whatAmILookingAt)
        XCTAssertEqual(intent("Please read this."), .readThis)
        XCTAssertEqual(intent("Take a picture."), .takePhoto)
        XCTAssertEqual(intent("What's the time?"), .whatTimeIsIt)
        XCTAssertEqual(intent("Stop."), .stop)
        XCTAssertNil(intent("The weather is nice today, isn't it?"))
        XCTAssertNil(intent("Stop the car at the end of the road."), "talk that mentions a command is no command")
        let note = commands.command(in: SpokenCommands.words("But remember this, the car is on level 3."))
        XCTAssertEqual(note?.intent, .rememberThis)
        XCTAssertEqual(note?.rest, "the car is on level 3")
        XCTAssertEqual(commands.command(in: SpokenCommands.words("Where did I park the car?"))?.rest, "the car")
    }

    func testTheClosestCommandBySound() {
        XCTAssertEqual(commands.closestCommand(to: ["a", "redness"])?.intent, .readThis)
        XCTAssertEqual(commands.closestCommand(to: ["take", "a", "photograph"])?.intent, .takePhoto)
        XCTAssertNil(commands.closestCommand(to: ["the", "weather", "is", "nice"]))
        XCTAssertNil(commands.closestCommand(to: ["it", "is", "time"]))
        XCTAssertEqual(commands.closestCommand(to: SpokenCommands.words("what's it I see?"))?.intent, .whatDidISee)
        XCTAssertEqual(commands.closestCommand(to: SpokenCommands.words("what am I listening to?"))?.intent, .whatAmILookingAt)
        XCTAssertNil(commands.closestCommand(to: SpokenCommands.words("I'm late at night.")))
    }

    func testRepeatsAreCutFromTheText() {
        XCTAssertEqual(WhisperListener.withoutRepeats("What am I looking at? What am I looking at? What am I"), "What am I looking at?")
        XCTAssertEqual(WhisperListener.withoutRepeats("Read this. Take a photo."), "Read this. Take a photo.")
        XCTAssertEqual(WhisperListener.withoutRepeats("the car is on level 3"), "the car is on level 3")
        XCTAssertEqual(WhisperListener.withoutRepeats("is to be able to be able to be able to be able"), "is to be able")
        XCTAssertEqual(WhisperListener.withoutRepeats("go go go"), "go")
        XCTAssertEqual(WhisperListener.withoutRepeats("very very good"), "very very good")
    }
}
