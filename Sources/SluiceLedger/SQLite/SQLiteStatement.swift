import CSQLite

/// A prepared statement, owned by its ``SQLiteConnection`` and used on its thread.
final class SQLiteStatement {
    private let pointer: OpaquePointer
    private unowned let connection: SQLiteConnection

    /// Tells SQLite to copy bound text and blobs.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    init(_ pointer: OpaquePointer, connection: SQLiteConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit { sqlite3_finalize(pointer) }

    func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
    }

    // MARK: - Binding (1-based, as SQLite counts)

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(pointer, index, value) } else { sqlite3_bind_null(pointer, index) }
    }

    /// Binds text with its length: a NUL inside it is kept (a C string would end there, and two
    /// different keys could compare equal), and a short string is bound from the stack, not copied to
    /// the heap as a C string first.
    func bind(_ index: Int32, _ value: String?) {
        guard var value else { sqlite3_bind_null(pointer, index); return }
        value.withUTF8 { text in
            // A nil pointer would bind NULL; an empty string binds empty text.
            let start = text.baseAddress.map { UnsafeRawPointer($0) } ?? Self.emptyText
            _ = sqlite3_bind_text(pointer, index, start.assumingMemoryBound(to: CChar.self), Int32(text.count), Self.transient)
        }
    }

    private static var emptyText: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }

    func bind(_ index: Int32, blob: [UInt8]?) {
        guard let blob else { sqlite3_bind_null(pointer, index); return }
        blob.withUnsafeBytes { buffer in
            _ = sqlite3_bind_blob(pointer, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count), Self.transient)
        }
    }

    /// Binds values in order from parameter 1.
    func bind(_ values: [SQLiteValue]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .integer(let int): bind(index, int)
            case .text(let text): bind(index, text)
            case .null: sqlite3_bind_null(pointer, index)
            }
        }
    }

    // MARK: - Stepping

    /// Steps once: true when a row is ready, false when done.
    @discardableResult
    func step() throws(SQLiteFailure) -> Bool {
        let code = sqlite3_step(pointer)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = connection.failure(code)
            sqlite3_reset(pointer)
            throw failure
        }
    }

    // MARK: - Columns (0-based)

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(pointer, column) }

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(pointer, column) else { return nil }
        let count = Int(sqlite3_column_bytes(pointer, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_blob(pointer, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}

/// A value bound to a dynamic query.
enum SQLiteValue {
    case integer(Int64)
    case text(String)
    case null
}
