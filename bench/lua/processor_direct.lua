-- POST /v1/payments straight to the processor simulator over TLS, the card number in the body: what
-- a merchant holding the card would send. The proxy scenario sends the same request through the vault.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   bench_headers(true)
end

-- BENCH_CARD_NUMBER: a Luhn-valid number bench/run.py generates.
local body = '{"amount":6540,"currency":"USD","source":{"number":"' .. os.getenv("BENCH_CARD_NUMBER")
   .. '","expiry_month":"12","expiry_year":"2030"}}'

function request()
   return wrk.format("POST", "/v1/payments", nil, body)
end
