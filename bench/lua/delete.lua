-- DELETE /payment_methods/{id}: each request deletes a different pre-created card.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
function init(args)
   bench_headers(false)
   ids = bench_load_ids()
end

function request()
   local id = bench_next_unique_id(ids)
   if id == nil then
      return wrk.format("GET", "/health")
   end
   return wrk.format("DELETE", "/payment_methods/" .. id)
end
