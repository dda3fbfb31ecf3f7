#!/usr/bin/env python3
"""Drive Sluice's bridge endpoint with the Durable Workflow engine's official Python client.

    pip install --no-deps durable-workflow==2.12.0 && pip install httpx fastavro sniffio
    python3 bridge_client.py BASE_URL TOKEN

Prints one JSON object: for each call, the outcome the client returned (`returned`) or the error it
raised (`raised`, with the HTTP status when it has one). Exit status 3 when the client is missing.
"""
import asyncio
import json
import sys

try:
    import durable_workflow
    from durable_workflow import Client
    from durable_workflow.retry_policy import TransportRetryPolicy
except ImportError as error:  # the Swift test skips with this message
    print(json.dumps({"skip": f"durable-workflow is not importable: {error}"}))
    sys.exit(3)


def as_dict(outcome):
    if isinstance(getattr(outcome, "raw", None), dict):
        return outcome.raw
    if hasattr(outcome, "to_dict"):
        return outcome.to_dict()
    if hasattr(outcome, "__dict__"):
        return {k: v for k, v in vars(outcome).items() if not k.startswith("_")}
    return outcome


async def call(client, **kwargs):
    try:
        outcome = await client.send_webhook_bridge_event(**kwargs)
        return {"returned": as_dict(outcome)}
    except Exception as error:  # noqa: BLE001 - the test wants every kind of failure
        return {"raised": type(error).__name__, "status": getattr(error, "status", None) or getattr(error, "status_code", None),
                "message": str(error)[:300]}


async def main(base_url, token):
    # The client's own retry policy (3 attempts on 429/5xx), with short backoffs to keep the test quick.
    fast = TransportRetryPolicy(max_attempts=3, initial_backoff_seconds=0.01, max_backoff_seconds=0.05)
    kwargs = {"token": token, "timeout": 10.0, "retry_policy": fast}
    results = {"version": durable_workflow.__version__ if hasattr(durable_workflow, "__version__") else "?"}
    async with Client(base_url, **kwargs) as client:
        start = dict(adapter="stripe", action="start_workflow", idempotency_key="evt_1001",
                     target={"workflow_type": "orders.fulfillment", "task_queue": "orders", "business_key": "order-1001",
                             "duplicate_policy": "use_existing"},
                     input={"order_id": "order-1001"},
                     correlation={"provider": "stripe", "event_type": "checkout.session.completed"})
        results["start"] = await call(client, **start)
        results["start_again"] = await call(client, **start)
        results["signal"] = await call(client, adapter="stripe", action="signal_workflow", idempotency_key="evt_1002",
                                       target={"workflow_id": "order-1001", "signal_name": "refund_requested"},
                                       input={"amount": 1200})
        results["update"] = await call(client, adapter="stripe", action="update_workflow", idempotency_key="evt_1003",
                                       target={"workflow_id": "order-1001", "update_name": "approve",
                                               "wait_for": "accepted"})
        results["unsupported_action"] = await call(client, adapter="stripe", action="handoff_external_task",
                                                   idempotency_key="gh-delivery-78", target={"task_queue": "ops"})
        results["engine_rejects"] = await call(client, adapter="stripe", action="start_workflow",
                                               idempotency_key="evt_bad", target={"workflow_type": "unknown.type"})
        results["malformed"] = await call(client, adapter="stripe", action="signal_workflow", idempotency_key="evt_m",
                                          target={"workflow_id": "order-1001"})
        results["unknown_adapter"] = await call(client, adapter="nobody", action="start_workflow",
                                                idempotency_key="evt_x", target={"workflow_type": "t"})
        results["saturated"] = await call(client, adapter="busy", action="start_workflow", idempotency_key="evt_busy",
                                          target={"workflow_type": "orders.fulfillment"})
        results["timed_out"] = await call(client, adapter="slow", action="start_workflow", idempotency_key="evt_slow",
                                          target={"workflow_type": "orders.fulfillment"})
    async with Client(base_url, token="wrong-token", timeout=10.0) as client:
        results["bad_token"] = await call(client, **start)
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
