-- wrk script of bench/ingest: signed pull_request deliveries, each with its own
-- X-GitHub-Delivery. The signature covers only the body, so a few signed bodies (one per
-- pull request) are reused and every request gets a fresh delivery id in its header.
--
-- wrk ... -s bench/ingest.lua URL -- DIRECTORY COUNT PREFIX REPORT
--   DIRECTORY holds body-1.json .. body-COUNT.json and signature-1 .. signature-COUNT;
--   PREFIX starts every delivery id (unique per run); REPORT is written by done() as
--   JSON, and REPORT.ids lists the delivery ids answered 202, one a line.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

local bodies, signatures = {}, {}
local prefix
local sent = 0
-- Globals of each thread's state, read by done() through thread:get().
report_path = nil
accepted, non_2xx = 0, 0
accepted_ids = {}

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  local directory, count = args[1], tonumber(args[2])
  prefix = args[3] .. "-" .. thread_number .. "-"
  report_path = args[4]
  for i = 1, count do
    bodies[i] = read_file(directory .. "/body-" .. i .. ".json")
    signatures[i] = read_file(directory .. "/signature-" .. i)
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-GitHub-Event"] = "pull_request"
end

function request()
  sent = sent + 1
  local which = sent % #bodies + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. sent
  wrk.headers["X-Hub-Signature-256"] = signatures[which]
  return wrk.format(nil, nil, nil, bodies[which])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  elseif status == 202 then
    accepted = accepted + 1
    -- hotfix-bot names the delivery it journaled; the bare endpoint answers no body.
    local id = body and body:match('"delivery":"([^"]+)"')
    if id then
      accepted_ids[#accepted_ids + 1] = id
    end
  end
end

function done(summary, latency, requests)
  local accepted_total, non_2xx_total = 0, 0
  local report_path = threads[1]:get("report_path")
  local ids = assert(io.open(report_path .. ".ids", "w"))
  for _, thread in ipairs(threads) do
    accepted_total = accepted_total + thread:get("accepted")
    non_2xx_total = non_2xx_total + thread:get("non_2xx")
    for _, id in ipairs(thread:get("accepted_ids")) do
      ids:write(id, "\n")
    end
  end
  ids:close()
  local errors = summary.errors
  local report = assert(io.open(report_path, "w"))
  report:write(string.format(
    '{"duration_us": %d, "responses": %d, "accepted": %d, "non_2xx": %d, '
      .. '"socket_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.duration, summary.requests, accepted_total, non_2xx_total,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max
  ))
  report:close()
end
