-- wrk script: POST the body in $BENCH_BODY to chat/completions; $BENCH_STREAM=1 adds x-bench-stream.
-- done() prints one line "BENCHJSON {...}" (latencies in microseconds) for bench/bench.py.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Host"] = "openrouter.ai"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_STREAM") == "1" then
  wrk.headers["x-bench-stream"] = "1"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_mean_us":%.1f,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
