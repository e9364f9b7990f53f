#!/usr/bin/env bash
# Smoke-tests a deployed environment through its public URL:
#
#   infra/deploy/smoke.sh https://staging.shop.example.com [store slug, default demo]
#
# /health and /ready answer 200 (/ready: storage and Redis), a storefront deep link is the
# app's HTML, a catalogue call answers JSON with a product list, and an unknown API path is a
# JSON 404 (not the storefront's HTML: the SPA fallback must stay off the API).
set -euo pipefail

base="${1:?the base URL of the environment}"
base="${base%/}"
store="${2:-demo}"
tries="${SMOKE_TRIES:-10}"

check() {
    local what="$1" path="$2" want_status="$3" want_type="$4" want_body="$5" out status type attempt
    out=$(mktemp)
    for ((attempt = 1; attempt <= tries; attempt++)); do
        read -r status type < <(curl -sS -o "$out" -w '%{http_code} %{content_type}\n' --max-time 10 "$base$path" || echo "000 none")
        if [ "$status" = "$want_status" ] && [[ "$type" == "$want_type"* ]] && grep -q -- "$want_body" "$out"; then
            echo "ok   $what ($path: $status $type)"
            rm -f "$out"
            return 0
        fi
        sleep 3
    done
    echo "FAIL $what ($path: $status $type, wanted $want_status $want_type containing '$want_body')"
    head -c 300 "$out"; echo
    rm -f "$out"
    return 1
}

failed=0
check "health" /health 200 application/json '"ok"' || failed=1
check "ready" /ready 200 application/json '"ready"' || failed=1
check "storefront page" "/s/$store/products" 200 text/html '<meta name="techverse-api"' || failed=1
check "catalogue API" "/api/v1/stores/$store/products?limit=1" 200 application/json '"items"' || failed=1
check "API 404 stays JSON" /api/v1/no-such-route 404 application/json '"not_found"' || failed=1
exit "$failed"
