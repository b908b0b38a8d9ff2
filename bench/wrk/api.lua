-- wrk script for the payout API.
--
--   wrk ... -s bench/wrk/api.lua <url> -- <mode> <merchants.lua> <salt>
--
-- mode "post": POST /api/v1/payouts with a fresh Idempotency-Key per request,
--              for a merchant drawn at random from the merchants file.
-- mode "get":  GET /api/v1/balance for a merchant drawn the same way.
--
-- The merchants file is a Lua chunk returning { {api_key, bank_account_id}, ... }.
-- `salt` is 8 hex digits chosen per wrk run, so keys never repeat across runs.
--
-- done() prints one line, "BENCH_JSON {...}", that the driver parses: wrk's
-- own summary has no per-status counts and rounds the percentiles.

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local mode, merchants, salt, counter
-- Globals, not locals: done() reads them from each thread with thread:get().
c2xx, c4xx, c5xx, replayed = 0, 0, 0, 0

function init(args)
  mode = args[1]
  merchants = dofile(args[2])
  salt = args[3]
  counter = 0
  -- Seeded per thread: LuaJIT's generator would otherwise give every thread
  -- the same sequence of merchants.
  math.randomseed(os.time() * 1000 + thread_no)
end

-- A version 4 UUID that is unique by construction (salt, thread, counter) and
-- random enough in its other bits to look like a client's key.
local function idempotency_key()
  counter = counter + 1
  return string.format("%s-%04x-4%03x-%04x-%012x",
    salt, thread_no, math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), counter)
end

function request()
  local merchant = merchants[math.random(1, #merchants)]
  local headers = { ["Authorization"] = "Bearer " .. merchant[1] }
  if mode == "get" then
    return wrk.format("GET", "/api/v1/balance", headers)
  end
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = idempotency_key()
  local body = string.format('{"amount_paise":%d,"bank_account_id":%d}', math.random(100, 999), merchant[2])
  return wrk.format("POST", "/api/v1/payouts", headers, body)
end

function response(status, headers, body)
  if status >= 500 then
    c5xx = c5xx + 1
  elseif status >= 400 then
    c4xx = c4xx + 1
  elseif status >= 200 and status < 300 then
    c2xx = c2xx + 1
  end
  if headers["Idempotent-Replayed"] then
    replayed = replayed + 1
  end
end

function done(summary, latency, requests)
  local totals = { c2xx = 0, c4xx = 0, c5xx = 0, replayed = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"mean_us":%.1f,"non_2xx_3xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"status_2xx":%d,"status_4xx":%d,"status_5xx":%d,"replayed":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.status, e.connect, e.read, e.write,
    e.timeout, totals.c2xx, totals.c4xx, totals.c5xx, totals.replayed))
end
