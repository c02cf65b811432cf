-- Baseline: POST /rows with a card-shaped body; inserts one payment-method-sized row.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   bench_headers(true)
end

function request()
   local body = '{"customer_id":"01_cus_baseline","payment_method_type":"card",'
      .. '"payment_method_subtype":"credit","storage_type":"persistent","card":{"card_number":"'
      .. next_card_number() .. '","card_exp_month":"12","card_exp_year":"2035",'
      .. '"card_holder_name":"Bench Customer"}}'
   return wrk.format("POST", "/rows", nil, body)
end
