/// A piece of text the assistant puts on the heads-up display: shown, updated and hidden by id,
/// ordered by priority, and gone by itself when its time to live runs out.
public struct OverlayItem: Equatable, Sendable {
    public enum Priority: Int, Comparable, Sendable, CaseIterable {
        case low = 0, normal = 1, high = 2, urgent = 3
        public var name: String { ["low", "normal", "high", "urgent"][rawValue] }
        public init?(name: String) {
            guard let p = Priority.allCases.first(where: { $0.name == name }) else { return nil }
            self = p
        }
        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
    }

    public var id: Int
    public var text: String
    public var priority: Priority
    /// Session time at which it was shown (or last updated), and at which it goes.
    public var shownAtNanoseconds: UInt64
    public var expiresAtNanoseconds: UInt64

    public init(id: Int, text: String, priority: Priority, shownAtNanoseconds: UInt64, expiresAtNanoseconds: UInt64) {
        self.id = id; self.text = text; self.priority = priority
        self.shownAtNanoseconds = shownAtNanoseconds; self.expiresAtNanoseconds = expiresAtNanoseconds
    }

    /// The overlays to draw at a time: those alive, highest priority first, newest first among equals.
    public static func visible(_ items: [OverlayItem], at time: UInt64) -> [OverlayItem] {
        items.filter { $0.shownAtNanoseconds <= time && time < $0.expiresAtNanoseconds }
            .sorted { ($0.priority, $0.shownAtNanoseconds, $0.id) > ($1.priority, $1.shownAtNanoseconds, $1.id) }
    }
}
