import CSluiceThreadName
import Foundation

/// Starts a dedicated OS thread (for blocking work that must stay off Swift's cooperative pool) whose
/// name shows in `top -H`, `ps -L`, `perf` and debuggers.
///
/// Foundation's `Thread.name` does not reach the operating system on Linux: such threads were listed
/// under the name of the pool thread that created them. So the body names its own thread before it runs;
/// Linux keeps the first 15 bytes of the name.
///
/// - Parameters:
///   - name: The thread's name, at most 15 bytes to be shown whole.
///   - stackSize: The stack size in bytes, or nil for Foundation's default.
///   - body: The thread's work; the thread ends when it returns.
public func startNamedThread(_ name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        _ = sluice_name_current_thread(name)
        body()
    }
    thread.name = name
    if let stackSize { thread.stackSize = stackSize }
    thread.start()
}
