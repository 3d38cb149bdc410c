-- Rekam bench load for wrk: PUTs of random counts (to the service, raw-put or bare-put), or GETs
-- of one path. Arguments after "--":
--   put-service|put-raw|put-bare  <offices.tsv: id, code, token per line>  <date> [<date> ...]
--   get  <path>  [<bearer token>  [<If-None-Match tag>]]
-- done() prints one line "BENCH_JSON {...}" that bench/run.py reads.

local kind
local offices = {}
local dates = {}
local static_request

function init(args)
  kind = args[1]
  if kind == "get" then
    local headers = {}
    if args[3] then headers["Authorization"] = "Bearer " .. args[3] end
    if args[4] then headers["If-None-Match"] = args[4] end
    static_request = wrk.format("GET", args[2], headers)
  else
    for line in io.lines(args[2]) do
      local id, code, token = line:match("^(%d+)\t([^\t]+)\t([^\t]+)$")
      if id then
        offices[#offices + 1] = { id = id, code = code, auth = "Bearer " .. token }
      end
    end
    for i = 3, #args do dates[#dates + 1] = args[i] end
  end
  math.randomseed(os.time())
end

function request()
  if static_request then return static_request end
  local office = offices[math.random(#offices)]
  local day = dates[math.random(#dates)]
  local body = '{"recordings":' .. math.random(0, 300) .. '}'
  if kind == "put-service" then
    return wrk.format("PUT", "/api/v1/offices/" .. office.code .. "/counts/" .. day,
      { ["Authorization"] = office.auth, ["Content-Type"] = "application/json" }, body)
  end
  local route = "/raw-put/"
  if kind == "put-bare" then route = "/bare-put/" end
  return wrk.format("PUT", route .. office.id .. "/" .. day,
    { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors_connect": %d, "errors_read": %d, '
    .. '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, '
    .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
