-- wrk: the same bridge POST the engine client sends (headers and a body of the same size).
wrk.method = "POST"
wrk.path = "/api/bridge-adapters/webhook/bench"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-token"
wrk.headers["X-Namespace"] = "default"
wrk.headers["X-Durable-Workflow-Control-Plane-Version"] = "2"
wrk.body = '{"action":"start_workflow","idempotency_key":"bench-0-1","target":{"workflow_type":"BenchWorkflow","workflow_id":"bench-0-1","task_queue":"bench-q","duplicate_policy":"reject_duplicate"},"input":[{"n":1}]}'
