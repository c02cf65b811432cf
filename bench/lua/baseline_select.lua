-- Baseline: GET /rows/{id}, a random one of BENCH_IDS_FILE per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
function init(args)
   bench_headers(false)
   bench_seed_random()
   ids = bench_load_ids()
end

function request()
   return wrk.format("GET", "/rows/" .. bench_random_id(ids))
end
