-- Shared by the scenario scripts (loaded with dofile). wrk runs this file in its main Lua state
-- (setup, done) and once in each thread's state (init, request).
--
-- Environment: BENCH_API_KEY, BENCH_PROFILE_ID (the vault's headers), BENCH_IDS_FILE (ids, one a
-- line), BENCH_CUSTOMER_ID, BENCH_RUN_SEQ (a number unique per wrk run: distinct card numbers),
-- BENCH_THREADS (wrk's -t).

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

function bench_headers(json_body)
   local key = os.getenv("BENCH_API_KEY")
   if key and key ~= "" then
      wrk.headers["api-key"] = key
      wrk.headers["X-Profile-Id"] = os.getenv("BENCH_PROFILE_ID")
   end
   if json_body then
      wrk.headers["Content-Type"] = "application/json"
   end
end

function bench_load_ids()
   local ids = {}
   local path = os.getenv("BENCH_IDS_FILE")
   for line in io.lines(path) do
      if line ~= "" then
         table.insert(ids, line)
      end
   end
   if #ids == 0 then
      error("no ids in " .. path)
   end
   return ids
end

-- A random id of the list: reads spread over many rows.
function bench_random_id(ids)
   return ids[math.random(#ids)]
end

-- Ids of this thread's share, each once: ids[tid + 1], ids[tid + 1 + nthreads], ...
-- When the share runs out the thread stops (and done() reports it) instead of sending repeats.
local cursor = nil
exhausted = 0
function bench_next_unique_id(ids)
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
   if cursor == nil then
      cursor = tid + 1
   end
   if cursor > #ids then
      exhausted = 1
      wrk.thread:stop()
      return nil
   end
   local id = ids[cursor]
   cursor = cursor + nthreads
   return id
end

function bench_seed_random()
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919 + tonumber(os.getenv("BENCH_RUN_SEQ") or "0"))
end

-- The digit that makes the number pass the Luhn check.
function luhn_complete(partial)
   local sum = 0
   local len = #partial
   for i = len, 1, -1 do
      local d = partial:byte(i) - 48
      if (len - i) % 2 == 0 then
         d = d * 2
         if d > 9 then
            d = d - 9
         end
      end
      sum = sum + d
   end
   return partial .. tostring((10 - sum % 10) % 10)
end

-- A fresh Luhn-valid 16-digit Visa number per call: '4', 5 digits of run and thread, a serial.
local serial = 0
function next_card_number()
   serial = serial + 1
   local run = tonumber(os.getenv("BENCH_RUN_SEQ") or "0")
   return luhn_complete(string.format("4%05d%09d", (run * 64 + tid) % 100000, serial))
end

function card_body(customer_id, number, extra)
   return '{"customer_id":"' .. customer_id .. '","payment_method_type":"card",'
      .. '"payment_method_subtype":"credit","payment_method_data":{"card":{"card_number":"' .. number
      .. '","card_exp_month":"12","card_exp_year":"2035","card_holder_name":"Bench Customer",'
      .. '"card_cvc":"123"}},"storage_type":"persistent"' .. (extra or "") .. '}'
end

-- One JSON line for the runner: counts, errors and latency percentiles in microseconds.
function done(summary, latency, requests)
   local stopped = 0
   for _, thread in ipairs(threads) do
      stopped = stopped + (thread:get("exhausted") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,'
         .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
         .. '"mean_us":%.1f,"max_us":%d,"threads_out_of_ids":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
      stopped))
end
