-- wrk script of the `orders` suite (bench/orders_suite.py): checkout over HTTP.
--
-- Usage: wrk ... -s bench/wrk_orders.lua http://127.0.0.1:PORT/api/v1/orders/ \
--          -- REQUESTS_FILE THREADS
-- REQUESTS_FILE holds one `access token<TAB>Idempotency-Key<TAB>JSON body` line per
-- placement, as a mobile app sends it: `Authorization: Bearer <token>` and its own key.
-- Each wrk thread takes every THREADS-th line (its own share), so no buyer is sent twice;
-- a thread that runs out starts its share again and counts it in "wrapped" (for placements
-- the suite reports that as a finding: those would be replays; for replays it is the point).
-- Answers are counted by status ("statuses"); "sent" counts requests written.
-- At the end one line `BENCH_JSON {...}` gives the figures, as bench/wrk_paths.lua does.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local items = {}
local index = 0
wrapped = 0
sent = 0
statuses = {}

function init(args)
  local share = tonumber(args[2])
  local file = assert(io.open(args[1], "r"), "cannot open the requests file")
  local line_number = 0
  for line in file:lines() do
    line_number = line_number + 1
    if line ~= "" and (line_number - 1) % share == tid - 1 then
      local first = line:find("\t", 1, true)
      local second = line:find("\t", first + 1, true)
      items[#items + 1] = {
        line:sub(1, first - 1), line:sub(first + 1, second - 1), line:sub(second + 1)
      }
    end
  end
  file:close()
  assert(#items > 0, "this thread's share of the requests file is empty")
end

function request()
  sent = sent + 1
  index = index + 1
  if index > #items then
    index = 1
    wrapped = wrapped + #items
  end
  local item = items[index]
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. item[1],
    ["Idempotency-Key"] = item[2],
  }, item[3])
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local total_wrapped, total_sent, total_statuses = 0, 0, {}
  for _, thread in ipairs(threads) do
    total_wrapped = total_wrapped + (thread:get("wrapped") or 0)
    total_sent = total_sent + (thread:get("sent") or 0)
    for status, count in pairs(thread:get("statuses") or {}) do
      total_statuses[status] = (total_statuses[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total_statuses) do
    parts[#parts + 1] = string.format('"%s": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "wrapped": %d, "sent": %d, "statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, total_wrapped, total_sent, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout))
end
