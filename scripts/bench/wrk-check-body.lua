-- wrk script for the race's ceiling: counts answers whose body is not exactly the text given after
-- `--` on wrk's command line, and prints {"badBodies":N} when the run ends (wrk counts non-2xx itself).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = args[1]
  bad = 0
end

function response(status, headers, body)
  if body ~= expected then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("bad")
  end
  io.write(string.format('{"badBodies":%d}\n', total))
end
