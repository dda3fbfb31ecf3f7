-- wrk: Temporal HTTP API starts, each with a unique workflow id and request id (as the engine sends).
local counter = 0
local prefix = os.getenv("PREFIX") or tostring(os.time())
request = function()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local body = '{"workflowType":{"name":"BenchWorkflow"},"taskQueue":{"name":"bench-q"},"input":[{"n":' .. counter ..
    '}],"requestId":"' .. id .. '","workflowIdReusePolicy":"WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE",' ..
    '"workflowIdConflictPolicy":"WORKFLOW_ID_CONFLICT_POLICY_FAIL"}'
  return wrk.format("POST", "/api/v1/namespaces/default/workflows/" .. id,
    {["Content-Type"] = "application/json", ["Accept"] = "application/json"}, body)
end
