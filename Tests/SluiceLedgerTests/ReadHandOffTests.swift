import Foundation
@testable import SluiceLedger
import Testing

/// A reader thread's result reaches its task whether it arrives while the task watches for it or after
/// the task has suspended, and never twice or to the wrong task.
@Suite(.timeLimit(.minutes(1))) struct ReadHandOffTests {
    @Test("a result delivered before the task looks is returned without suspending")
    func deliveredFirst() async {
        let handOff = ReadHandOff<Int>()
        handOff.deliver(42)
        #expect(await handOff.result() == 42)
    }

    @Test("a result delivered long after the watch resumes the suspended task")
    func deliveredAfterSuspension() async {
        let handOff = ReadHandOff<String>()
        Thread {
            // Far beyond the watch: the task has suspended by now.
            usleep(50_000)
            handOff.deliver("late")
        }.start()
        #expect(await handOff.result() == "late")
    }

    @Test("many hand-offs with delays around the watch's end each deliver their own value once")
    func raceAroundTheWatch() async {
        let watch = Int(ReadHandOff<Int>.watch.components.attoseconds / 1_000_000_000_000)
        let queue = WorkQueue<@Sendable () -> Void>()
        let reader = Thread {
            while let jobs = queue.take(limit: 1) { for job in jobs { job() } }
        }
        reader.start()
        for index in 0..<2_000 {
            let handOff = ReadHandOff<Int>()
            // Delays from none to twice the watch, so that deliveries land before, during and after it.
            let delay = UInt32(index % 7 == 0 ? 0 : Int.random(in: 0...(2 * watch)))
            #expect(queue.submit {
                usleep(delay)
                handOff.deliver(index)
            })
            let value = await handOff.result()
            if value != index {
                Issue.record("hand-off \(index) returned \(value)")
                break
            }
        }
        queue.close()
    }
}
