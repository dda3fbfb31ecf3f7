import Foundation
import SluiceApp
import Testing

/// Tracing's set-up at start-up.
@Suite(.serialized) struct ObservabilityTests {
    /// `OTEL_SDK_DISABLED=true`, the switch every OpenTelemetry SDK honours, turns export off instead of making the
    /// exporter refuse (which stopped the start with an error the caller did not expect).
    @Test func theSDKSwitchTurnsExportOff() throws {
        setenv("OTEL_SDK_DISABLED", "true", 1)
        defer { unsetenv("OTEL_SDK_DISABLED") }
        var tracing = ServiceConfiguration.Tracing()
        tracing.otlpEndpoint = "http://127.0.0.1:9"
        #expect(try Observability.bootstrapTracing(tracing) == nil)
    }
}
