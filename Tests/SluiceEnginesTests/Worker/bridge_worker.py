"""A tiny Temporal worker for Sluice's end-to-end tests.

Workflow `BridgeWorkflow` on the task queue given on the command line:
- runs until it receives the `finish` signal, keeping every signal and update it received;
- signals `payment_received` and `finish` (one argument each, any JSON);
- update `apply` (one argument): its validator rejects `{"reject": true}`; it returns the number of
  updates applied so far;
- query `state` returns what it received.

Usage: python3 bridge_worker.py ADDRESS TASK_QUEUE   (prints "ready" once polling)
"""

import asyncio
import signal
import sys
from typing import Any, Optional

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker


@workflow.defn(name="BridgeWorkflow")
class BridgeWorkflow:
    def __init__(self) -> None:
        self.signals: list = []
        self.updates: list = []
        self.done = False

    @workflow.run
    async def run(self, payload: Optional[Any] = None) -> dict:
        await workflow.wait_condition(lambda: self.done)
        return {"start": payload, "signals": self.signals, "updates": self.updates}

    @workflow.signal(name="payment_received")
    def payment_received(self, payload: Optional[Any] = None) -> None:
        self.signals.append(payload)

    @workflow.signal(name="finish")
    def finish(self, payload: Optional[Any] = None) -> None:
        self.done = True

    @workflow.update(name="apply")
    def apply(self, payload: Optional[Any] = None) -> int:
        self.updates.append(payload)
        return len(self.updates)

    @apply.validator
    def validate_apply(self, payload: Optional[Any] = None) -> None:
        if isinstance(payload, dict) and payload.get("reject"):
            raise ValueError("rejected by validator")

    @workflow.query(name="state")
    def state(self) -> dict:
        return {"signals": self.signals, "updates": self.updates}


async def main() -> None:
    address, task_queue = sys.argv[1], sys.argv[2]
    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[BridgeWorkflow]):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    # Started by a Swift program, the worker inherits the spawning thread's signal mask, which blocks SIGTERM and
    # SIGINT (a libdispatch worker thread's): unblocked, a stop takes a moment instead of the grace period and SIGKILL.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    asyncio.run(main())
