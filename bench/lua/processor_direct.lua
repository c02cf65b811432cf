-- POST /v1/payments straight to the processor simulator over TLS, the card number in the body: what
-- a merchant holding the card would send. The proxy scenario sends the same request through the vault.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   bench_headers(true)
end

function request()
   return wrk.format("POST", "/v1/payments", nil,
      '{"amount":6540,"currency":"USD","source":{"number":"4242424242424242","expiry_month":"12","expiry_year":"2030"}}')
end
