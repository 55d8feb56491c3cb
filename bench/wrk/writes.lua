-- wrk script for the catalog write benchmark, with the bearer token BENCH_TOKEN:
--   BENCH_WRITE=plays      POST /api/v1/plays for a song id cycling through 1..BENCH_SONGS
--   BENCH_WRITE=playlists  POST /api/v1/playlists/ID/move (first track to last) cycling
--                          through the playlist ids in BENCH_PLAYLISTS (comma-separated),
--                          so connections mostly edit different playlists, as users do
-- done() prints one `RESULT key=value ...` line for scripts/bench.sh.

local token = os.getenv("BENCH_TOKEN") or ""
local kind = os.getenv("BENCH_WRITE") or "plays"
local songs = tonumber(os.getenv("BENCH_SONGS") or "1000")
local tracks = tonumber(os.getenv("BENCH_TRACKS") or "20")
local playlists = {}
for id in string.gmatch(os.getenv("BENCH_PLAYLISTS") or "", "[^,]+") do
   playlists[#playlists + 1] = id
end

local threads = 0
function setup(thread)
   thread:set("thread_id", threads)
   threads = threads + 1
end

local n = 0
function init(args)
   n = (thread_id or 0) * 7919
end

local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

function request()
   n = n + 1
   if kind == "playlists" then
      local id = playlists[n % #playlists + 1]
      local body = string.format('{"from":0,"to":%d}', tracks - 1)
      return wrk.format("POST", "/api/v1/playlists/" .. id .. "/move", headers, body)
   end
   local body = string.format('{"song_id":%d,"played_ms":30000}', n % songs + 1)
   return wrk.format("POST", "/api/v1/plays", headers, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d bytes=%d duration_us=%d socket_errors=%d status_errors=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.bytes, summary.duration,
      e.connect + e.read + e.write + e.timeout, e.status,
      latency:percentile(50), latency:percentile(99)))
end
