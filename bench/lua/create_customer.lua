-- POST /customers: a new customer per request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   bench_headers(true)
end

function request()
   return wrk.format("POST", "/customers", nil, '{"name":"Bench Customer","email":"bench@example.com"}')
end
