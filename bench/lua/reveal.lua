-- GET /payment_methods/{id}?fetch_raw_detail=true with a reveal-scoped key: decrypt and audit.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
function init(args)
   bench_headers(false)
   bench_seed_random()
   ids = bench_load_ids()
end

function request()
   return wrk.format("GET", "/payment_methods/" .. bench_random_id(ids) .. "?fetch_raw_detail=true")
end
