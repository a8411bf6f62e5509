/// An error that a person reads: one line saying what failed, on what, and what to do.
public struct VisorError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
