"""The sample workflow worker of `sluice dev`.

One dynamic workflow serves every workflow type the example adapters start (orders.fulfillment,
shopify.order, slack.triage, billing.period, …) on the task queues given on the command line. It
keeps every signal and update it receives, accepts any signal or update name, and completes when
it receives the `finish` signal. A query `state` returns what it received.

Usage: python3 dev/worker.py ADDRESS TASK_QUEUE [TASK_QUEUE…]   (prints "ready" once its workers run; exits when one fails)
"""

import asyncio
import signal
import sys
from collections.abc import Sequence

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.worker import Worker


@workflow.defn(dynamic=True)
class SampleWorkflow:
    def __init__(self) -> None:
        self.signals: list = []
        self.updates: list = []
        self.done = False

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> dict:
        await workflow.wait_condition(lambda: self.done)
        return {"signals": len(self.signals), "updates": len(self.updates)}

    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        if name == "finish":
            self.done = True
            return
        self.signals.append({"name": name, "args": [workflow.payload_converter().from_payload(a.payload) for a in args]})

    @workflow.update(dynamic=True)
    def on_update(self, name: str, args: Sequence[RawValue]) -> int:
        self.updates.append({"name": name, "args": [workflow.payload_converter().from_payload(a.payload) for a in args]})
        return len(self.updates)

    @workflow.query(name="state")
    def state(self) -> dict:
        return {"signals": self.signals, "updates": self.updates}


async def main() -> None:
    address, queues = sys.argv[1], sys.argv[2:]
    client = await Client.connect(address)
    workers = [Worker(client, task_queue=queue, workflows=[SampleWorkflow]) for queue in queues]
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    print("ready", flush=True)
    # A worker that fails ends the process (with its error), instead of leaving it up with no poller.
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in done:
        task.result()
    sys.exit("a worker stopped")


if __name__ == "__main__":
    # Started by a Swift program, the worker inherits the spawning thread's signal mask, which blocks SIGTERM and
    # SIGINT (a libdispatch worker thread's): unblocked, a stop takes a moment instead of the grace period and SIGKILL.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    asyncio.run(main())
