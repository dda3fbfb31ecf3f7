/// Header fields of an HTTP request or a Kafka record: ordered, repeatable, looked up without regard
/// to case.
public struct HeaderFields: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// One header field.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The fields in the order they arrived.
    public private(set) var fields: [Field]

    public init(_ fields: [Field] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { Field(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of the header `name`, compared without regard to ASCII case.
    public subscript(name: String) -> String? {
        for field in fields where Self.equalIgnoringCase(field.name, name) { return field.value }
        return nil
    }

    /// Every value of the header `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.equalIgnoringCase($0.name, name) }.map(\.value)
    }

    /// Whether a header `name` is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Appends a field.
    public mutating func append(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Fields whose names start with `prefix` (ignoring case), with the prefix removed and the rest lowercased.
    public func withPrefix(_ prefix: String) -> [(name: String, value: String)] {
        fields.compactMap { field in
            guard field.name.utf8.count > prefix.utf8.count,
                Self.equalIgnoringCase(String(field.name.prefix(prefix.count)), prefix)
            else { return nil }
            return (String(field.name.dropFirst(prefix.count)).lowercased(), field.value)
        }
    }

    /// ASCII case-insensitive comparison without allocating.
    public static func equalIgnoringCase(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let l?, let r?):
                if l == r { continue }
                let lowerL = (l >= 0x41 && l <= 0x5A) ? l | 0x20 : l
                let lowerR = (r >= 0x41 && r <= 0x5A) ? r | 0x20 : r
                if lowerL != lowerR { return false }
            default: return false
            }
        }
    }
}
