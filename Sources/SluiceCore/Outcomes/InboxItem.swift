/// A pending inbox row: a delivery whose outcome is not recorded yet.
public struct InboxItem: Sendable, Hashable {
    /// The row id, the event's ``SourcePosition/inbox(id:)``.
    public var id: Int64
    public var delivery: Delivery

    public init(id: Int64, delivery: Delivery) {
        self.id = id
        self.delivery = delivery
    }
}
