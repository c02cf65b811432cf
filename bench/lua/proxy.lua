-- POST /proxy: the same payment request as processor_direct.lua, sent through the vault with the
-- card of a random stored payment method substituted in.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
local destination = os.getenv("BENCH_PROCESSOR_URL") .. "/v1/payments"

function init(args)
   bench_headers(true)
   bench_seed_random()
   ids = bench_load_ids()
end

function request()
   local body = '{"destination_url":"' .. destination .. '","method":"POST",'
      .. '"headers":{"Content-Type":"application/json"},'
      .. '"request_body":{"amount":6540,"currency":"USD","source":{"number":"{{$card_number}}",'
      .. '"expiry_month":"{{$card_exp_month}}","expiry_year":"{{$card_exp_year}}"}},'
      .. '"token":"' .. bench_random_id(ids) .. '","token_type":"PaymentMethodId"}'
   return wrk.format("POST", "/proxy", nil, body)
end
