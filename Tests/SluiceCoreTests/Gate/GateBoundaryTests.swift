import Testing

@testable import SluiceCore

/// The boundary value, its validation, its modes, and the gate's instant type.
@Suite("Boundary")
struct GateBoundaryTests {
    @Test("the default: push-pull, 64 in flight, 10,000 queued, 2 s budget")
    func defaults() throws {
        let boundary = Boundary.default
        #expect(boundary.mode == .pushPull)
        #expect(boundary.maxInFlight == 64)
        #expect(boundary.maxQueued == 10_000)
        #expect(boundary.cancellationBudget == .seconds(2))
        #expect(try Boundary(validating: boundary) == boundary)
    }

    @Test("validation rejects non-positive limits and a negative budget")
    func validation() {
        let cases: [(Boundary, GateConfigurationError)] = [
            (
                Boundary(mode: .pushOnly, maxInFlight: 0, maxQueued: 1, cancellationBudget: .zero),
                GateConfigurationError(field: "maxInFlight", problem: "must be positive, got 0")
            ),
            (
                Boundary(mode: .pushOnly, maxInFlight: 1, maxQueued: -4, cancellationBudget: .zero),
                GateConfigurationError(field: "maxQueued", problem: "must be positive, got -4")
            ),
            (
                Boundary(mode: .pushOnly, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(-1)),
                GateConfigurationError(field: "cancellationBudget", problem: "must not be negative, got -1.0 seconds")
            ),
        ]
        for (boundary, error) in cases {
            #expect(throws: error) { try boundary.validate() }
            #expect(throws: error) { _ = try Boundary(validating: boundary) }
        }
        #expect(cases[0].1.description == "maxInFlight must be positive, got 0")
    }

    @Test("modes: raw values as adapters spell them, and which sources they accept")
    func modes() {
        #expect(BoundaryMode.allCases.map(\.rawValue) == ["push-pull", "push-only", "pull-only"])
        #expect(BoundaryMode.pushPull.acceptsPush && BoundaryMode.pushPull.acceptsPull)
        #expect(BoundaryMode.pushOnly.acceptsPush && !BoundaryMode.pushOnly.acceptsPull)
        #expect(!BoundaryMode.pullOnly.acceptsPush && BoundaryMode.pullOnly.acceptsPull)
    }

    @Test("a runtime with unchecked non-positive limits admits and starts nothing, without trapping")
    func degenerateLimits() {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 0, maxQueued: 0, cancellationBudget: .zero),
            historyLimit: -1)
        #expect(throws: TaskRuntimeError.queueSaturated(key: "a", maxQueued: 0)) { try runtime.enqueue("a") }
        #expect(runtime.startAvailable(now: .zero) == [])
        #expect(runtime.historyLimit == 0)
        #expect(runtime.pullCapacity == 0)
    }

    @Test("instants: arithmetic, saturation, description")
    func instants() {
        let t = GateInstant(nanoseconds: 1_500)
        #expect(t + .microseconds(1) == GateInstant(nanoseconds: 2_500))
        #expect(t - .nanoseconds(500) == GateInstant(nanoseconds: 1_000))
        #expect(GateInstant(nanoseconds: 4_000) - t == .nanoseconds(2_500))
        #expect(t.duration(to: .zero) == .nanoseconds(-1_500))
        #expect(GateInstant(offset: .seconds(2)) == GateInstant(nanoseconds: 2_000_000_000))
        #expect(GateInstant(offset: .seconds(Int64.max)).nanoseconds == .max)
        #expect(GateInstant(offset: .seconds(Int64.min)).nanoseconds == .min)
        #expect((GateInstant(nanoseconds: .max - 1) + .seconds(1)).nanoseconds == .max)
        #expect((GateInstant(nanoseconds: .min + 1) - .seconds(1)).nanoseconds == .min)
        #expect(GateInstant(nanoseconds: .min).duration(to: GateInstant(nanoseconds: .max)) == .nanoseconds(Int64.max))
        #expect(GateInstant.zero < t)
        #expect(t.description == "1500ns")
    }
}
