-- GET /customers/{id}/saved_payment_methods: one customer with 10 cards.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path
function init(args)
   bench_headers(false)
   path = "/customers/" .. os.getenv("BENCH_CUSTOMER_ID") .. "/saved_payment_methods"
end

function request()
   return wrk.format("GET", path)
end
