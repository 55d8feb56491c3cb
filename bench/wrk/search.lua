-- wrk script for the search benchmark: cycles through request paths, one per line of the
-- file BENCH_PATHS (from `cadenza-bench queries --paths`), with the bearer token BENCH_TOKEN.
-- done() prints one `RESULT key=value ...` line for scripts/bench.sh.

local token = os.getenv("BENCH_TOKEN") or ""
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
   if line ~= "" then
      paths[#paths + 1] = line
   end
end

local threads = 0
function setup(thread)
   thread:set("thread_id", threads)
   threads = threads + 1
end

local next_path = 0
function init(args)
   -- Threads start at different places in the list.
   next_path = ((thread_id or 0) * 499) % #paths
end

function request()
   next_path = next_path % #paths + 1
   return wrk.format("GET", paths[next_path], { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d bytes=%d duration_us=%d socket_errors=%d status_errors=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect + e.read + e.write + e.timeout, e.status,
      latency:percentile(50), latency:percentile(99)))
end
