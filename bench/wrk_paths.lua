-- wrk script of the benchmark harness (bench/harness.py).
--
-- Usage: wrk ... -s bench/wrk_paths.lua http://127.0.0.1:PORT/first -- PATHS_FILE [COOKIE [BUST]]
-- Every connection requests the paths of PATHS_FILE (one a line) in turn, so a target
-- such as "a product page" is many URLs, not one. Without COOKIE (or with "") requests
-- carry no cookie: anonymous traffic; with it, each sends `Cookie: COOKIE` (a logged-in
-- shopper's session). BUST "bust" appends `cold=<n>` (n counting up per thread) to every
-- path: a URL no cache holds, so every anonymous request misses the page cache. At the end one line `BENCH_JSON {...}` gives the figures the harness reads
-- (latencies in microseconds; "status" counts answers with a status of 400 or more).

local paths = {}
local counter = 0
local sent = 0
local cookie = nil
local bust = false

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the paths file")
  for line in file:lines() do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "the paths file is empty")
  if args[2] ~= nil and args[2] ~= "" then
    cookie = args[2]
  end
  bust = args[3] == "bust"
  -- Threads must not send the same busting numbers: start each at a random offset.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
  sent = math.random(1, 1000000000)
end

function request()
  counter = counter % #paths + 1
  local path = paths[counter]
  if bust then
    sent = sent + 1
    path = path .. (path:find("?", 1, true) and "&" or "?") .. "cold=" .. sent
  end
  if cookie then
    return wrk.format("GET", path, {["Cookie"] = cookie})
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
