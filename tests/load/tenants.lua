-- wrk script: spreads GET requests over the first K benchmark organizations (bench-0001 ... bench-K).
--
--   USER_ID=<uuid> K=200 wrk -t2 -c64 -d30s -s tests/load/tenants.lua http://127.0.0.1:5190
--   wrk ... -s tests/load/tenants.lua http://127.0.0.1:5190 -- 200          (K as a script argument)
--
-- Environment:
--   USER_ID      the seeded owner (seed-tenants prints USER_ID=...); sent as "Authorization: Dev user=<id>"
--   K            how many organizations to spread over (default 1); the script argument wins
--   SLUG_PREFIX  default "bench-"
--   MODE         "list" (default): GET /api/v1/companies?limit=20
--                "get": GET /api/v1/companies/<id> of a random seeded company (ids are deterministic)
--   COMPANIES    companies per tenant for MODE=get (default 20)
--   ORDER        "cycle": tenants in turn instead of at random (warm-ups); THREADS = wrk's -t for the interleave
--   THINK_MIN / THINK_MAX  when set, each connection waits a random THINK_MIN..THINK_MAX ms before each request
--                (a paced load with headroom instead of a closed loop that saturates the server)
--
-- done() prints one machine-readable line starting with "RESULT" (requests/s, latency percentiles in µs, status
-- counts and socket errors); statuses other than 200 are counted by the response() hook.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

local k, prefix, mode, companies, auth
local statuses = {}
non200 = 0

function init(args)
  k = tonumber(args[1] or os.getenv("K") or "1")
  prefix = os.getenv("SLUG_PREFIX") or "bench-"
  mode = os.getenv("MODE") or "list"
  companies = tonumber(os.getenv("COMPANIES") or "20")
  local user = os.getenv("USER_ID")
  if user == nil or user == "" then
    error("USER_ID is not set")
  end
  auth = "Dev user=" .. user
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
  cycle = os.getenv("ORDER") == "cycle"
  threads_total = tonumber(os.getenv("THREADS") or "1")
  statuses_out = {}
end

if os.getenv("THINK_MAX") then
  local think_min = tonumber(os.getenv("THINK_MIN") or "0")
  local think_max = tonumber(os.getenv("THINK_MAX"))
  function delay()
    return math.random(think_min, think_max)
  end
end

local sent = 0

function request()
  local n = math.random(1, k)
  if cycle then
    -- Every tenant in turn (threads interleaved), so a short warm-up opens each of the K tenants at least once.
    n = (sent * threads_total + (thread_id or 1) - 1) % k + 1
    sent = sent + 1
  end
  local slug = string.format("%s%04d", prefix, n)
  local path
  if mode == "get" then
    path = string.format("/api/v1/companies/00000000-0000-4000-8000-%012d", math.random(1, companies))
  else
    path = "/api/v1/companies?limit=20"
  end
  return wrk.format("GET", path, { ["Authorization"] = auth, ["X-Org"] = slug, ["Accept"] = "application/json" })
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    statuses_out = statuses
  end
end

function done(summary, latency, requests)
  local total_non200 = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    total_non200 = total_non200 + (thread:get("non200") or 0)
    local s = thread:get("statuses_out")
    if type(s) == "table" then
      for code, n in pairs(s) do
        by_status[code] = (by_status[code] or 0) + n
      end
    end
  end
  local parts = {}
  for code, n in pairs(by_status) do
    table.insert(parts, code .. ":" .. n)
  end
  table.sort(parts)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f rps=%.1f p50_us=%d p90_us=%d p95_us=%d p99_us=%d max_us=%d non200=%d statuses=%s connect_err=%d read_err=%d write_err=%d timeout_err=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    total_non200, (#parts > 0 and table.concat(parts, ",") or "-"),
    e.connect, e.read, e.write, e.timeout))
end
