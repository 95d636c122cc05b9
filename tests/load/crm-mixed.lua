-- wrk script for "latency under load" (tests/load/crm-benchmark.sh): every connection is one user of one of K
-- organizations (bench-0001 ... bench-K), thinking THINK_MIN..THINK_MAX ms between requests (wrk's delay()), with a
-- mix of reads and writes:
--   45% GET a deal, 15% list deals (limit 20), 10% GET a company, 10% list a company's notes,
--   10% POST a note on a company, 5% PATCH a deal's probability, 5% POST a call activity on a deal.
-- Environment: TOKEN (bearer token of the benchmark owner), K (default 100), ROWS (seeded rows per tenant, default 50),
-- THINK_MIN / THINK_MAX (default 500 / 1500).
-- done() prints one "RESULT ..." line with p50/p95/p99 (latency of the requests only, think time excluded).

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

local k, rows, think_min, think_max, token
non2xx = 0
writes = 0

function init(args)
  k = tonumber(os.getenv("K") or "100")
  rows = tonumber(os.getenv("ROWS") or "50")
  think_min = tonumber(os.getenv("THINK_MIN") or "500")
  think_max = tonumber(os.getenv("THINK_MAX") or "1500")
  token = os.getenv("TOKEN")
  if token == nil or token == "" then
    error("TOKEN is not set")
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
end

function delay()
  return math.random(think_min, think_max)
end

local function id(kind, n)
  return string.format("00000000-0000-4000-%s-%012d", kind, n)
end

function request()
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["X-Org"] = string.format("bench-%04d", math.random(1, k)),
    ["Accept"] = "application/json",
  }
  local r = math.random(1, 100)
  if r <= 45 then
    return wrk.format("GET", "/api/v1/deals/" .. id("a000", math.random(1, rows)), headers)
  elseif r <= 60 then
    return wrk.format("GET", "/api/v1/deals?limit=20", headers)
  elseif r <= 70 then
    return wrk.format("GET", "/api/v1/companies/" .. id("8000", math.random(1, rows)), headers)
  elseif r <= 80 then
    return wrk.format("GET", "/api/v1/notes?limit=20&companyId=" .. id("8000", math.random(1, rows)), headers)
  end
  writes = writes + 1
  headers["Content-Type"] = "application/json"
  if r <= 90 then
    local body = string.format('{"body":"Load test note %d","companyId":"%s"}', math.random(1, 1000000), id("8000", math.random(1, rows)))
    return wrk.format("POST", "/api/v1/notes", headers, body)
  elseif r <= 95 then
    return wrk.format("PATCH", "/api/v1/deals/" .. id("a000", math.random(1, rows)), headers, string.format('{"probability":%d}', math.random(0, 100)))
  end
  local body = string.format('{"type":"call","subject":"Load test call","dealId":"%s"}', id("a000", math.random(1, rows)))
  return wrk.format("POST", "/api/v1/activities", headers, body)
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total_non2xx = 0
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f p50_us=%d p95_us=%d p99_us=%d max_us=%d non2xx=%d socket_err=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    total_non2xx, e.connect + e.read + e.write + e.timeout))
end
