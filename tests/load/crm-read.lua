-- wrk script for the read-path overhead benchmark (tests/load/crm-benchmark.sh):
--   MODE=full  GET /api/v1/deals/<id>        with "Authorization: Bearer $TOKEN" and X-Org (the whole product)
--   MODE=bare  GET /bench/bare/deals/<id>    with X-Org only (same SQL, raw Npgsql; exists only in the benchmark host)
--   MODE=ef    GET /bench/ef/deals/<id>      with X-Org only (the product's tenant scope, pooled context and handler,
--              no HTTP pipeline; benchmark host only: splits the gap between the two above)
-- Environment: TOKEN (MODE=full), SLUG (default bench-0001), DEALS (seeded deals per tenant, default 50), ORGS (when
-- set, each request names one of bench-0001 ... bench-ORGS at random instead of SLUG; tests/load/two-instances.sh).
-- done() prints one "RESULT ..." line like tenants.lua.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

local mode, slug, deals, headers, orgs
non200 = 0

function init(args)
  mode = os.getenv("MODE") or "full"
  slug = os.getenv("SLUG") or "bench-0001"
  deals = tonumber(os.getenv("DEALS") or "50")
  orgs = tonumber(os.getenv("ORGS") or "0")
  headers = { ["X-Org"] = slug, ["Accept"] = "application/json" }
  if mode == "full" then
    local token = os.getenv("TOKEN")
    if token == nil or token == "" then
      error("TOKEN is not set")
    end
    headers["Authorization"] = "Bearer " .. token
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

function request()
  local prefix = mode == "full" and "/api/v1/deals/" or mode == "ef" and "/bench/ef/deals/" or "/bench/bare/deals/"
  if orgs > 0 then
    headers["X-Org"] = string.format("bench-%04d", math.random(1, orgs))
  end
  return wrk.format("GET", string.format("%s00000000-0000-4000-a000-%012d", prefix, math.random(1, deals)), headers)
end

function response(status, hdrs, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local total_non200 = 0
  for _, thread in ipairs(threads) do
    total_non200 = total_non200 + (thread:get("non200") or 0)
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f p50_us=%d p95_us=%d p99_us=%d max_us=%d non200=%d socket_err=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    total_non200, e.connect + e.read + e.write + e.timeout))
end
