-- POST /payment_methods: a fresh Luhn-valid card for one customer per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local customer_id
function init(args)
   bench_headers(true)
   customer_id = os.getenv("BENCH_CUSTOMER_ID")
end

function request()
   return wrk.format("POST", "/payment_methods", nil, card_body(customer_id, next_card_number()))
end
