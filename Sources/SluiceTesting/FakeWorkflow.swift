public import SluiceCore

/// A workflow instance held by ``DurableWorkflowFake``: enough state to prove what a command changed.
public struct FakeWorkflow: Sendable, Hashable {
    /// A signal or update the workflow received.
    public struct Command: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable { case signal, update }
        public var kind: Kind
        public var name: String
        public var input: JSONValue?
        public var commandID: String
        /// For bridge commands: `adapter`, `action`, `idempotency_key`; for control-plane commands: `request_id`.
        public var adapter: String?
        public var idempotencyKey: String?
        public var requestID: String?
        public var waitFor: String?
    }

    public var namespace: String
    public var workflowID: String
    public var runID: String
    public var workflowType: String
    public var taskQueue: String?
    public var businessKey: String?
    public var input: JSONValue?
    /// False once ``DurableWorkflowFake/closeWorkflow(_:namespace:)`` closed it.
    public var isRunning: Bool
    public var commands: [Command]

    public var signals: [Command] { commands.filter { $0.kind == .signal } }
    public var updates: [Command] { commands.filter { $0.kind == .update } }
}
