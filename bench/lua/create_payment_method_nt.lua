-- POST /payment_methods with network tokenization: the vault asks the token-service simulator.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local customer_id
function init(args)
   bench_headers(true)
   customer_id = os.getenv("BENCH_CUSTOMER_ID")
end

function request()
   local extra = ',"network_tokenization":{"enable":"Enable"}'
   return wrk.format("POST", "/payment_methods", nil, card_body(customer_id, next_card_number(), extra))
end
