#!/usr/bin/env bash
# The real deploy scripts against moto (an AWS emulator) on a free loopback port:
# - stacks.sh creates the network and static stacks from the real templates (twice: the second
#   run must find nothing to change), and the VPC has what the template says;
# - static.sh publishes two releases of a small app: Content-Type and Cache-Control of every
#   object, the invalidation of the two index pages, the previous release's files kept, older
#   ones deleted, and deletion only after the new index is live;
# - image.sh logs in, tags and pushes through a stand-in docker that stores the manifest with
#   ECR's own API, then refuses to push the same immutable tag twice;
# - smoke.sh against the real binary (TECHVERSE_BIN), passing, and failing on a wrong store.
# What moto cannot emulate is listed in infra/README.md.
# shellcheck disable=SC2016 # backticks in --query strings are JMESPath literals
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
BIN="$(dirname "$PYTHON")"
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$BIN/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done

export AWS="$BIN/aws" AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_DEFAULT_REGION=eu-west-1
export AWS_ACCESS_KEY_ID=emulated AWS_SECRET_ACCESS_KEY=emulated AWS_EC2_METADATA_DISABLED=true
export TV_CLOUD_FRONT_PREFIX_LIST=pl-0123abcd
# Staging's params turn the interface endpoints off; the variable wins, so they are created.
export TV_INTERFACE_ENDPOINTS=true
checks=0
ok() { checks=$((checks + 1)); echo "ok   $*"; }
no() { echo "FAIL $*"; tail -n 30 "$work/moto.log"; exit 1; }
expect() {
    local what="$1" want="$2" got="$3"
    if [ "$got" = "$want" ]; then ok "$what"; else no "$what: wanted '$want', got '$got'"; fi
}

echo "-- stacks.sh staging network static"
bash infra/deploy/stacks.sh staging network static
expect "one VPC, tagged by the template" "techverse-staging" \
    "$("$AWS" ec2 describe-vpcs --filters Name=cidr,Values=10.40.0.0/16 --query 'Vpcs[0].Tags[?Key==`Name`].Value | [0]' --output text)"
expect "four subnets over two AZs" "4 2" \
    "$("$AWS" ec2 describe-subnets --query 'length(Subnets[?starts_with(CidrBlock, `10.40.`)])' --output text) $("$AWS" ec2 describe-subnets --query 'Subnets[?starts_with(CidrBlock, `10.40.`)].AvailabilityZone' --output text | tr '\t' '\n' | sort -u | wc -l)"
expect "staging runs one NAT gateway" 1 "$("$AWS" ec2 describe-nat-gateways --query 'length(NatGateways)' --output text)"
expect "VPC endpoints (S3, ECR api and dkr, Secrets Manager, Logs)" 5 "$("$AWS" ec2 describe-vpc-endpoints --query 'length(VpcEndpoints)' --output text)"
account=$("$AWS" sts get-caller-identity --query Account --output text)
bucket="techverse-staging-static-$account"
expect "the static bucket is encrypted" AES256 \
    "$("$AWS" s3api get-bucket-encryption --bucket "$bucket" --query 'ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm' --output text)"
second=$(bash infra/deploy/stacks.sh staging network static)
echo "$second"
expect "a second run changes nothing" 2 "$(grep -c ': unchanged$' <<<"$second")"

echo "-- static.sh: two releases"
distribution=$("$AWS" cloudfront create-distribution --distribution-config "$(jq -nc --arg b "$bucket" '{
    CallerReference: "emulated", Comment: "emulated", Enabled: true,
    Origins: {Quantity: 1, Items: [{Id: "static", DomainName: "\($b).s3.amazonaws.com", S3OriginConfig: {OriginAccessIdentity: ""}}]},
    DefaultCacheBehavior: {TargetOriginId: "static", ViewerProtocolPolicy: "redirect-to-https", MinTTL: 0,
        ForwardedValues: {QueryString: false, Cookies: {Forward: "none"}}}}')" --query Distribution.Id --output text)
export TV_STATIC_BUCKET="$bucket" TV_DISTRIBUTION_ID="$distribution"
release() { # release <dir> <hash>: a tiny storefront and admin referencing hashed files
    local dir="$1" hash="$2"
    mkdir -p "$dir/assets/app-$hash" "$dir/admin/assets/admin-$hash"
    echo "<!doctype html><script src=/assets/app-$hash/app.js></script>" >"$dir/index.html"
    echo "<!doctype html><script src=/admin/assets/admin-$hash/admin.js></script>" >"$dir/admin/index.html"
    echo "console.log('$hash')" >"$dir/assets/app-$hash/app.js"
    printf '\0asm\1\0\0\0' >"$dir/assets/app-$hash/app_bg.wasm"
    echo "body{}" >"$dir/assets/app-$hash/style.css"
    echo "x" | gzip >"$dir/assets/app-$hash/app_bg.wasm.gz"
    echo "console.log('admin $hash')" >"$dir/admin/assets/admin-$hash/admin.js"
    echo "sizes" >"$dir/sizes.txt"
}
release "$work/r1" aaaa
release "$work/r2" bbbb
release "$work/r3" cccc
head_of() { "$AWS" s3api head-object --bucket "$bucket" --key "$1" --query '[ContentType, CacheControl]' --output text 2>/dev/null | tr '\t' '|' || echo missing; }
bash infra/deploy/static.sh staging "$work/r1" release-1 >"$work/static-1.log"
bash infra/deploy/static.sh staging "$work/r2" release-2 >"$work/static-2.log"
expect "index.html: html, no-cache" "text/html; charset=utf-8|no-cache" "$(head_of index.html)"
expect "admin/index.html: html, no-cache" "text/html; charset=utf-8|no-cache" "$(head_of admin/index.html)"
expect "hashed wasm: application/wasm, immutable" "application/wasm|public, max-age=31536000, immutable" "$(head_of assets/app-bbbb/app_bg.wasm)"
expect "hashed js: javascript, immutable" "text/javascript; charset=utf-8|public, max-age=31536000, immutable" "$(head_of assets/app-bbbb/app.js)"
expect "hashed css" "text/css; charset=utf-8|public, max-age=31536000, immutable" "$(head_of assets/app-bbbb/style.css)"
expect "admin's hashed js" "text/javascript; charset=utf-8|public, max-age=31536000, immutable" "$(head_of admin/assets/admin-bbbb/admin.js)"
expect "other files: no-cache" "text/plain; charset=utf-8|no-cache" "$(head_of sizes.txt)"
expect "precompressed twins are not uploaded (CloudFront compresses)" missing "$(head_of assets/app-bbbb/app_bg.wasm.gz)"
expect "the previous release's files stay for open tabs" "text/javascript; charset=utf-8|public, max-age=31536000, immutable" "$(head_of assets/app-aaaa/app.js)"
bash infra/deploy/static.sh staging "$work/r3" release-3 >"$work/static-3.log"
cat "$work/static-3.log"
expect "files of the release before the previous one are deleted" missing "$(head_of assets/app-aaaa/app.js)"
expect "... the previous release's are kept" "text/javascript; charset=utf-8|public, max-age=31536000, immutable" "$(head_of admin/assets/admin-bbbb/admin.js)"
order=$(grep -nE 'uploading the index pages|the new index is live|deleting [0-9]+ stale' "$work/static-3.log" | cut -d: -f1 | tr '\n' ' ')
read -r upload live delete <<<"$order"
if [ -n "${delete:-}" ] && [ "$upload" -lt "$live" ] && [ "$live" -lt "$delete" ]; then
    ok "stale files deleted only after the new index is uploaded and its invalidation completed"
else
    no "order of upload / live / delete: $order"
fi
paths=$("$AWS" cloudfront list-invalidations --distribution-id "$distribution" --query 'InvalidationList.Items[].Id' --output text | tr '\t' '\n' | head -n1 |
    xargs -I{} "$AWS" cloudfront get-invalidation --distribution-id "$distribution" --id {} --query 'Invalidation.InvalidationBatch.Paths.Items' --output text | tr '\t' ' ')
expect "only the two index pages are invalidated" "/index.html /admin/index.html" "$paths"
expect "three invalidations for three releases" 3 "$("$AWS" cloudfront list-invalidations --distribution-id "$distribution" --query 'length(InvalidationList.Items)' --output text)"

echo "-- image.sh: push once"
uri=$("$AWS" ecr create-repository --repository-name techverse-staging --image-tag-mutability IMMUTABLE \
    --image-scanning-configuration scanOnPush=true --query repository.repositoryUri --output text)
export TV_REPOSITORY_URI="$uri"
# A stand-in for docker: records what it was asked, and on push stores a manifest through
# ECR's API, as the real registry does when the layers are in.
cat >"$work/docker" <<'DOCKER'
#!/usr/bin/env bash
echo "docker $*" >>"$DOCKER_LOG"
case "$1" in
    login) read -r password; [ -n "$password" ] || exit 1 ;;
    push)
        repository="${2#*/}"; repository="${repository%:*}"; tag="${2##*:}"
        "$AWS" ecr put-image --repository-name "$repository" --image-tag "$tag" \
            --image-manifest '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}' >/dev/null ;;
esac
DOCKER
chmod +x "$work/docker"
export DOCKER="$work/docker" DOCKER_LOG="$work/docker.log"
sha=0123456789abcdef0123456789abcdef01234567
bash infra/deploy/image.sh staging "$sha"
registry="${uri%%/*}"
expect "login, tag, push" "docker login --username AWS --password-stdin $registry|docker tag techverse:$sha $uri:$sha|docker push $uri:$sha" "$(paste -sd'|' "$DOCKER_LOG")"
expect "the registry holds the tag" "$sha" "$("$AWS" ecr describe-images --repository-name techverse-staging --query 'imageDetails[0].imageTags[0]' --output text)"
bash infra/deploy/image.sh staging "$sha"
expect "a tag already pushed is not pushed again" 3 "$(wc -l <"$DOCKER_LOG")"
if bash infra/deploy/image.sh staging not-a-sha 2>/dev/null; then no "image.sh took a bad commit id"; else ok "image.sh refuses a bad commit id"; fi

if [ -n "${TECHVERSE_BIN:-}" ]; then
    echo "-- smoke.sh against the real binary"
    data="$work/data"
    app_port=$(free_port)
    TECHVERSE_DATA_DIR="$data" "$TECHVERSE_BIN" seed demo --no-history >/dev/null
    TECHVERSE_DATA_DIR="$data" TECHVERSE_LISTEN_ADDR="127.0.0.1:$app_port" TECHVERSE_STATIC_DIR="$(pwd)/frontend/dist" \
        TECHVERSE_LOG_LEVEL=warn "$TECHVERSE_BIN" serve >"$work/server.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$app_port/health" >/dev/null 2>&1 && break; sleep 0.1; done
    if bash infra/deploy/smoke.sh "http://127.0.0.1:$app_port" demo; then ok "smoke.sh passes on a healthy server"; else no "smoke.sh failed"; fi
    if SMOKE_TRIES=1 bash infra/deploy/smoke.sh "http://127.0.0.1:$app_port" no-such-store >/dev/null; then
        no "smoke.sh passed for a store that does not exist"
    else
        ok "smoke.sh fails when the catalogue does not answer"
    fi
else
    echo "SKIP smoke.sh against the binary: TECHVERSE_BIN is not set"
fi
echo "emulated deploy: $checks checks passed"
