/// A JSON object whose members keep their order.
///
/// Lookups are linear, which is faster than hashing for the small objects of webhook payloads and
/// engine requests. Setting an existing key replaces its value in place; a new key is appended.
public struct JSONObject: Sendable, Hashable, Sequence {
    /// One member of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in order.
    public private(set) var members: [Member]

    /// Creates an object from members; a later duplicate key replaces the earlier one's value.
    public init(_ members: [Member] = []) {
        self.members = []
        self.members.reserveCapacity(members.count)
        guard members.count > Self.linearLookupLimit else {
            for member in members { self[member.key] = member.value }
            return
        }
        // A large object (a body of 100,000 keys) is deduplicated through an index, not member by member: that would
        // be quadratic, minutes of CPU for one 2 MiB request.
        var positions: [String: Int] = [:]
        positions.reserveCapacity(members.count)
        for member in members {
            if let position = positions[member.key] {
                self.members[position].value = member.value
            } else {
                positions[member.key] = self.members.count
                self.members.append(member)
            }
        }
    }

    /// Up to this many members, keys are compared one by one (cheaper than hashing them).
    static let linearLookupLimit = 16

    /// Creates an object from members that are known to have distinct keys.
    init(uniqueMembers: [Member]) {
        self.members = uniqueMembers
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    /// The value of `key`, or nil. Setting nil removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// Equality ignores member order, as in JSON.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for member in lhs.members where rhs[member.key] != member.value { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for member in members {
            var memberHasher = Hasher()
            memberHasher.combine(member)
            combined ^= memberHasher.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(combined)
    }
}
