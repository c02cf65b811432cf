-- PATCH /payment_methods/{id}/update_saved_payment_method: a new nick_name on a random card.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
local count = 0
function init(args)
   bench_headers(true)
   bench_seed_random()
   ids = bench_load_ids()
end

function request()
   count = count + 1
   local body = '{"payment_method_data":{"card":{"nick_name":"bench card ' .. (count % 1000) .. '"}}}'
   local path = "/payment_methods/" .. bench_random_id(ids) .. "/update_saved_payment_method"
   return wrk.format("PATCH", path, nil, body)
end
