/// A value kept in a box shared by its copies until one of them changes: copying it costs one reference, however
/// many fields it has (``Plan`` and ``Outcome``, handed along the pipeline's every step, are kept this way).
///
/// Only a uniquely referenced box is ever written to, so copies behave as independent values.
struct CopyOnWrite<Value: Sendable & Hashable>: Sendable, Hashable {
    /// Written to only while uniquely referenced (``edit(_:)``): never shared while it changes.
    private final class Box: @unchecked Sendable {
        var value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box

    init(_ value: Value) {
        box = Box(value)
    }

    /// The value, to read.
    var value: Value { box.value }

    /// Changes the value in place, first copying it into a box of its own when another copy shares the box.
    mutating func edit(_ change: (inout Value) -> Void) {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.value) }
        change(&box.value)
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.box === rhs.box || lhs.box.value == rhs.box.value
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(box.value)
    }
}
