-- wrk script of the `payments` suite (bench/payments_suite.py): webhook intake.
--
-- Usage: wrk ... -s bench/wrk_webhooks.lua http://127.0.0.1:PORT/payments/webhooks/sandbox/ \
--          -- BODIES_FILE THREADS
-- BODIES_FILE holds one `Stripe-Signature value<TAB>JSON body` line per event, signed
-- beforehand. Each wrk thread takes every THREADS-th line (its own share), so no event is
-- sent twice; a thread that runs out starts its share again and counts it in "wrapped".
-- "sent" counts requests written, including those still unanswered when wrk stops.
-- At the end one line `BENCH_JSON {...}` gives the figures, as bench/wrk_paths.lua does.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local events = {}
local index = 0
wrapped = 0
sent = 0

function init(args)
  local share = tonumber(args[2])
  local file = assert(io.open(args[1], "r"), "cannot open the bodies file")
  local line_number = 0
  for line in file:lines() do
    line_number = line_number + 1
    if line ~= "" and (line_number - 1) % share == tid - 1 then
      local tab = line:find("\t", 1, true)
      events[#events + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
    end
  end
  file:close()
  assert(#events > 0, "this thread's share of the bodies file is empty")
end

function request()
  sent = sent + 1
  index = index + 1
  if index > #events then
    index = 1
    wrapped = wrapped + #events
  end
  local event = events[index]
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Stripe-Signature"] = event[1],
  }, event[2])
end

function done(summary, latency, requests)
  local total_wrapped, total_sent = 0, 0
  for _, thread in ipairs(threads) do
    total_wrapped = total_wrapped + (thread:get("wrapped") or 0)
    total_sent = total_sent + (thread:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "wrapped": %d, "sent": %d, "errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(99), latency.max, total_wrapped, total_sent, e.connect, e.read, e.write, e.status,
    e.timeout))
end
