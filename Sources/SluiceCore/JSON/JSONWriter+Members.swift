/// Writing an object member by member, straight into the text: for the few shapes written on the
/// hot path (every stored outcome), where building a ``JSONValue`` tree first costs more than
/// writing it.
///
/// The output is the same bytes as ``JSONWriter/string(_:)`` of the equivalent tree; only compact
/// output is supported.
extension JSONWriter.Output {
    /// Writes `{`, calls `members`, and writes `}`.
    mutating func object(_ members: (inout Self) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        members(&self)
        bytes.append(UInt8(ascii: "}"))
    }

    /// A comma unless the next member is the object's first (a value never ends with `{`, so the last
    /// byte tells).
    private mutating func separateMember() {
        if bytes.last != UInt8(ascii: "{") { bytes.append(UInt8(ascii: ",")) }
    }

    /// Writes `"name":` after the separator. Names are static ASCII that needs no escaping.
    mutating func name(_ name: StaticString) {
        separateMember()
        bytes.append(UInt8(ascii: "\""))
        append(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// A string member; nothing when `value` is nil.
    mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        self.name(name)
        writeString(value)
    }

    /// An integer member.
    mutating func member(_ name: StaticString, _ value: Int64) {
        self.name(name)
        writeInteger(value)
    }

    /// A Boolean member.
    mutating func member(_ name: StaticString, _ value: Bool) {
        self.name(name)
        value ? append("true") : append("false")
    }

    /// Any value; nothing when it is nil or JSON `null`.
    mutating func member(_ name: StaticString, _ value: JSONValue?) {
        guard let value else { return }
        if case .null = value { return }
        self.name(name)
        write(value, level: 0)
    }

    /// A member whose value `write` writes.
    mutating func member(_ name: StaticString, writing write: (inout Self) -> Void) {
        self.name(name)
        write(&self)
    }

    /// Members of an object kept as they are (names escaped, nulls kept).
    mutating func members(of object: JSONObject) {
        for member in object.members {
            separateMember()
            writeString(member.key)
            bytes.append(UInt8(ascii: ":"))
            write(member.value, level: 0)
        }
    }
}
