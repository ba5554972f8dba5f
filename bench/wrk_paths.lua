-- wrk script of the benchmark harness (bench/harness.py).
--
-- Usage: wrk ... -s bench/wrk_paths.lua http://127.0.0.1:PORT/first -- PATHS_FILE
-- Every connection requests the paths of PATHS_FILE (one a line) in turn, so a target
-- such as "a product page" is many URLs, not one. Requests carry no cookie: anonymous
-- traffic. At the end one line `BENCH_JSON {...}` gives the figures the harness reads
-- (latencies in microseconds; "status" counts answers with a status of 400 or more).

local paths = {}
local counter = 0

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the paths file")
  for line in file:lines() do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "the paths file is empty")
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
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
