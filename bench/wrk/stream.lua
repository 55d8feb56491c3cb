-- wrk script for the streaming benchmark; both sides (Cadenza and nginx) get the same requests.
--   BENCH_PATH         request path
--   BENCH_TOKEN        bearer token sent with every request (nginx ignores it)
--   BENCH_RANGE_BYTES  when set, each request asks for a random range of this many bytes
--   BENCH_FILE_SIZE    size of the file (needed with BENCH_RANGE_BYTES)
-- done() prints one `RESULT key=value ...` line for scripts/bench.sh.

local path = os.getenv("BENCH_PATH") or "/"
local token = os.getenv("BENCH_TOKEN")
local range = tonumber(os.getenv("BENCH_RANGE_BYTES") or "")
local size = tonumber(os.getenv("BENCH_FILE_SIZE") or "")

local threads = 0
function setup(thread)
   thread:set("thread_id", threads)
   threads = threads + 1
end

function init(args)
   -- Same ranges in every run, different ones per thread.
   math.randomseed(4242 + (thread_id or 0))
end

function request()
   local headers = {}
   if token and token ~= "" then
      headers["Authorization"] = "Bearer " .. token
   end
   if range then
      local start = math.random(0, size - range)
      headers["Range"] = "bytes=" .. start .. "-" .. (start + range - 1)
   end
   return wrk.format("GET", path, headers)
end

-- Requests slower than this count as stalls: a player that buffers a couple of seconds has
-- gone silent by then.
local STALL_US = 2000000

-- How many recorded latencies exceed limit_us. wrk's histogram only answers percentiles
-- (each a walk over it), so this bisects on the rank: about log2(total) walks, and only
-- when the slowest request was over the limit.
local function count_over(latency, limit_us, total)
   if total <= 0 or latency.max <= limit_us then
      return 0
   end
   -- Ranks 1..total in latency order: `lo` is within the limit (0 = none), `hi` is over.
   local lo, hi = 0, total
   while hi - lo > 1 do
      local mid = math.floor((lo + hi) / 2)
      -- wrk picks rank round(p / 100 * count + 0.5); this p lands exactly on `mid`.
      if latency:percentile((mid - 0.5) * 100 / total) <= limit_us then
         lo = mid
      else
         hi = mid
      end
   end
   return total - lo
end

function done(summary, latency, requests)
   local e = summary.errors
   -- A response slower than wrk's --timeout is counted as a timeout, not in the histogram.
   local recorded = summary.requests - e.timeout
   io.write(string.format(
      "RESULT requests=%d bytes=%d duration_us=%d socket_errors=%d status_errors=%d p50_us=%d p99_us=%d max_us=%d over_2s=%d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect + e.read + e.write + e.timeout, e.status,
      latency:percentile(50), latency:percentile(99), latency.max,
      count_over(latency, STALL_US, recorded) + e.timeout))
end
