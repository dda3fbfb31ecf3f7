import ServiceLifecycle
import SluiceCore

/// Runs one adapter's gate. On graceful shutdown the gate stops taking work and gives the work in
/// flight its cancellation budget; what does not finish in time is abandoned, not acknowledged,
/// and delivered again after the restart (the inbox row or the Kafka offset stays).
struct DispatcherService: Service {
    let dispatcher: Dispatcher

    func run() async {
        await withGracefulShutdownHandler {
            await dispatcher.run()
        } onGracefulShutdown: {
            Task {
                await dispatcher.cancel(reason: "shutting down")
                await dispatcher.finish()
            }
        }
    }
}
