#!/usr/bin/env bash
# A/B of the storefront create's CPU per request, thread by thread, on the shared harness's kefu server.
#
# After one `bash ../shared/bench/run.sh` (it builds /tmp/kefu-bench-kefu and its database), from the project root:
#   PORT=8113 bash ../shared/bench/kefu/serve.sh &          # the harness's gunicorn (2 sync workers)
#   bash benchmarks/create_ab.sh "<command that sets up A>" "<command that sets up B>" [rounds]
# e.g. A/B two versions of a module in the harness's clone:
#   bash benchmarks/create_ab.sh "cp /tmp/old.py /tmp/kefu-bench-kefu/main/notifications/publishing.py" \
#                                "cp /tmp/new.py /tmp/kefu-bench-kefu/main/notifications/publishing.py" 3
# Each round and side: the command, the database re-seeded, the workers reloaded (HUP), 2 s of warm-up, then 10 s
# of wrk (2 threads, 8 connections, a random seeded order per request) while the CPU of every thread of both
# workers is read from /proc/<pid>/task/<tid>/stat. Prints req/s and CPU ms per request: the request thread
# ("main") and the others (the outbox publisher). Needs wrk.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../shared/bench" && pwd)"
STATE="${KEFU_STATE:-/tmp/kefu-bench-kefu}"
URL="http://127.0.0.1:${PORT:-8113}"
LUA="$(mktemp --suffix .lua)"
trap 'rm -f "$LUA"' EXIT
cat > "$LUA" <<'LUA'
math.randomseed(os.time())
local n = 0
request = function()
  n = n + 1
  local id = math.random(100001, 110000)
  local body = '{"order_number":"BENCH-' .. id .. '","lines":[{"sku":"TEE-RED-M","quantity":1}],"reason":"quality_problem","description":"A/B request ' .. n .. '"}'
  return wrk.format("POST", "/api/v1/tickets/returns/", {["Content-Type"]="application/json", ["Accept"]="application/json", ["Authorization"]="Api-Key kefu_0bench0kefu0_benchkefusecret00000000000000000000000000001"}, body)
end
LUA

ticks() {  # "<worker pid> <thread id> <utime+stime ticks>" for every thread of the gunicorn workers
    for p in $(pgrep -f "gunicorn kefu.wsgi" | tail -n +2); do
        for t in /proc/"$p"/task/*; do echo "$p $(basename "$t") $(awk '{print $14+$15}' "$t/stat")"; done
    done
}

for round in $(seq 1 "${3:-3}"); do
    for side in A B; do
        if [ "$side" = A ]; then eval "$1"; else eval "$2"; fi
        bash "$BENCH/kefu/python.sh" "$BENCH/kefu/seed.py" --count 10000 >/dev/null 2>&1
        kill -HUP "$(cat "$STATE/gunicorn-${PORT:-8113}.pid")"; sleep 4
        wrk -t2 -c8 -d2s -s "$LUA" "$URL" >/dev/null
        before="$(ticks)"
        out="$(wrk -t2 -c8 -d10s -s "$LUA" "$URL")"
        after="$(ticks)"
        n="$(echo "$out" | awk '/requests in/{print $1}')"
        rps="$(echo "$out" | awk '/Requests\/sec/{print $2}')"
        paste <(echo "$before") <(echo "$after") | awk -v n="$n" -v rps="$rps" -v side="$side" -v round="$round" -v hz="$(getconf CLK_TCK)" '
            { d = $6 - $3; if ($1 == $2) main += d; else other += d }
            END { printf "round %s %s  %7.1f req/s  main %.2f ms  other threads %.2f ms  per request\n", round, side, rps, main*1000/hz/n, other*1000/hz/n }'
    done
done
