-- wrk script for the race's ceiling: prints the run's exact totals as one JSON line when it ends.
-- Only `done` is defined: a per-response `response` callback makes wrk buffer and hand every body to
-- Lua, which halves what it can drive, and the ceiling would then measure wrk instead of the server.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"bytes":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout))
end
