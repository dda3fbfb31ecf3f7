/// The grammar of a JSON number's text, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, and how many
/// significant digits its mantissa writes.
enum JSONNumberText {
    /// The significant digits of the mantissa (leading and trailing zeros left out: `0.000120` has 2), or nil
    /// when `text` is no JSON number.
    static func significantDigits(_ text: some Collection<UInt8>) -> Int? {
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        var index = text.startIndex
        func skipDigits() -> Int {
            var count = 0
            while index < text.endIndex, isDigit(text[index]) {
                index = text.index(after: index)
                count += 1
            }
            return count
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "-") { index = text.index(after: index) }
        let integerStart = index
        let integerDigits = skipDigits()
        guard integerDigits > 0, integerDigits == 1 || text[integerStart] != UInt8(ascii: "0") else { return nil }
        if index < text.endIndex, text[index] == UInt8(ascii: ".") {
            index = text.index(after: index)
            guard skipDigits() > 0 else { return nil }
        }
        let mantissa = text[text.startIndex..<index]
        if index < text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index = text.index(after: index)
            if index < text.endIndex, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                index = text.index(after: index)
            }
            guard skipDigits() > 0 else { return nil }
        }
        guard index == text.endIndex else { return nil }
        return significantDigits(ofMantissa: mantissa)
    }

    /// The significant digits of a mantissa already checked (`-?digits(.digits)?`), as the parser has it.
    static func significantDigits(ofMantissa mantissa: some Collection<UInt8>) -> Int {
        var position = 0
        var first = -1
        var last = 0
        for byte in mantissa where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            if byte != UInt8(ascii: "0") {
                if first < 0 { first = position }
                last = position
            }
            position += 1
        }
        return first < 0 ? 0 : last - first + 1
    }
}
