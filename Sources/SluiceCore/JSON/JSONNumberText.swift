/// The grammar of a JSON number's text, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, and how many
/// significant digits it writes.
enum JSONNumberText {
    /// The significant digits of the mantissa (leading and trailing zeros left out: `0.000120` has 2), or nil
    /// when `text` is no JSON number.
    static func significantDigits(_ text: some Collection<UInt8>) -> Int? {
        var index = text.startIndex
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        if index < text.endIndex, text[index] == UInt8(ascii: "-") { index = text.index(after: index) }
        // Positions (among the mantissa's digits) of the first and the last digit that is not 0.
        var position = 0
        var first: Int?
        var last = 0
        func count(_ byte: UInt8) {
            if byte != UInt8(ascii: "0") {
                if first == nil { first = position }
                last = position
            }
            position += 1
        }
        let integerStart = index
        while index < text.endIndex, isDigit(text[index]) {
            count(text[index])
            index = text.index(after: index)
        }
        let integerDigits = text.distance(from: integerStart, to: index)
        guard integerDigits > 0, integerDigits == 1 || text[integerStart] != UInt8(ascii: "0") else { return nil }
        if index < text.endIndex, text[index] == UInt8(ascii: ".") {
            index = text.index(after: index)
            let fractionStart = index
            while index < text.endIndex, isDigit(text[index]) {
                count(text[index])
                index = text.index(after: index)
            }
            guard index > fractionStart else { return nil }
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index = text.index(after: index)
            if index < text.endIndex, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                index = text.index(after: index)
            }
            let exponentStart = index
            while index < text.endIndex, isDigit(text[index]) { index = text.index(after: index) }
            guard index > exponentStart else { return nil }
        }
        guard index == text.endIndex else { return nil }
        guard let first else { return 0 }
        return last - first + 1
    }
}
