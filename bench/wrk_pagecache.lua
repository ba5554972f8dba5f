-- wrk script of the `pagecache` suite (bench/pagecache_suite.py).
--
-- Usage: wrk ... -s bench/wrk_pagecache.lua http://127.0.0.1:PORT/first -- PATHS_FILE
-- Like wrk_paths.lua, every connection requests the paths of PATHS_FILE in turn; each
-- answer's X-Page-Cache header is counted. At the end one line `BENCH_JSON {...}` gives
-- wrk's figures and how many answers were cache hits, misses, and neither (an answer the
-- cache was not asked for, such as an error).

local paths = {}
local counter = 0
local threads = {}
hits, misses, others = 0, 0, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the paths file")
  for line in file:lines() do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  file:close()
  assert(#paths > 0, "the paths file is empty")
  -- Each thread starts at its own place in the list, so threads do not move in step.
  counter = (id * 7919) % #paths
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

function response(status, headers, body)
  local state = headers["X-Page-Cache"]
  if state == "hit" then
    hits = hits + 1
  elseif state == "miss" then
    misses = misses + 1
  else
    others = others + 1
  end
end

function done(summary, latency, requests)
  local hit, miss, other = 0, 0, 0
  for _, thread in ipairs(threads) do
    hit = hit + thread:get("hits")
    miss = miss + thread:get("misses")
    other = other + thread:get("others")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "cache": {"hit": %d, "miss": %d, "other": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    hit, miss, other))
end
