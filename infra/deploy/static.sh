#!/usr/bin/env bash
# Publishes the built apps (frontend/dist) to the environment's static bucket without ever
# serving a page whose files are missing:
#
#   infra/deploy/static.sh staging frontend/dist <release id, e.g. the commit SHA>
#
# 1. hashed files (assets/, admin/assets/) first, `Cache-Control: public, max-age=31536000,
#    immutable`, each with its real Content-Type (wasm as application/wasm: browsers compile
#    it while it streams);
# 2. every other file, index.html last, `Cache-Control: no-cache`;
# 3. CloudFront invalidation of the two index pages only (hashed names never need one), waited
#    for: from here on every shopper gets the new index;
# 4. only then files that neither this release nor the previous one lists are deleted, so a
#    tab still running the previous release can load its lazy pages.
# The precompressed .br/.gz twins are not uploaded: CloudFront compresses on its own.
# TV_STATIC_BUCKET and TV_DISTRIBUTION_ID override the stacks' outputs.
. "$(dirname "$0")/lib.sh"

env=$(environment "${1:-}")
dist="${2:?the built apps directory (frontend/dist)}"
release="${3:?a release id (the commit SHA)}"
[ -f "$dist/index.html" ] && [ -f "$dist/admin/index.html" ] || fail "$dist has no index.html and admin/index.html: run scripts/build-frontend"
bucket=$(stack_output "$(stack_name "$env" static)" BucketName TV_STATIC_BUCKET)
distribution=$(stack_output "$(stack_name "$env" edge)" DistributionId TV_DISTRIBUTION_ID)

content_type() {
    case "$1" in
        *.html) echo "text/html; charset=utf-8" ;;
        *.js | *.mjs) echo "text/javascript; charset=utf-8" ;;
        *.css) echo "text/css; charset=utf-8" ;;
        *.wasm) echo "application/wasm" ;;
        *.json) echo "application/json" ;;
        *.svg) echo "image/svg+xml" ;;
        *.png) echo "image/png" ;;
        *.ico) echo "image/x-icon" ;;
        *.webp) echo "image/webp" ;;
        *.woff2) echo "font/woff2" ;;
        *.txt) echo "text/plain; charset=utf-8" ;;
        *) echo "application/octet-stream" ;;
    esac
}

put() {
    local file="$1" cache="$2"
    "$AWS" s3api put-object --bucket "$bucket" --key "$file" --body "$dist/$file" \
        --content-type "$(content_type "$file")" --cache-control "$cache" >/dev/null
}

mapfile -t files < <(cd "$dist" && find . -type f ! -name '*.br' ! -name '*.gz' | sed 's|^\./||' | LC_ALL=C sort)
hashed=() plain=() pages=()
for file in "${files[@]}"; do
    case "$file" in
        assets/* | admin/assets/*) hashed+=("$file") ;;
        index.html | admin/index.html) pages+=("$file") ;;
        *) plain+=("$file") ;;
    esac
done

say "uploading ${#hashed[@]} hashed files to s3://$bucket"
# One recursive copy per file type (a CLI call per file would take a minute).
mapfile -t extensions < <(printf '%s\n' "${hashed[@]}" | sed -n 's/.*\.\([A-Za-z0-9]*\)$/\1/p' | LC_ALL=C sort -u)
for extension in "${extensions[@]}"; do
    "$AWS" s3 cp "$dist" "s3://$bucket" --recursive --only-show-errors \
        --exclude '*' --include "assets/*.$extension" --include "admin/assets/*.$extension" \
        --content-type "$(content_type "x.$extension")" --cache-control "public, max-age=31536000, immutable"
done
for file in "${plain[@]}"; do put "$file" "no-cache"; done
say "uploading the index pages"
# The admin's first: a shopper's index never points at files not yet uploaded either way.
for file in admin/index.html index.html; do put "$file" "no-cache"; done

# The release manifests: this one becomes current, the one it replaces becomes previous.
manifest=$(mktemp)
trap 'rm -f "$manifest" "$manifest.previous"' EXIT
printf '%s\n' "${files[@]}" >"$manifest"
if "$AWS" s3api get-object --bucket "$bucket" --key .releases/current.txt "$manifest.previous" >/dev/null 2>&1; then
    "$AWS" s3api put-object --bucket "$bucket" --key .releases/previous.txt --body "$manifest.previous" \
        --content-type "text/plain; charset=utf-8" --cache-control no-store >/dev/null
else
    : >"$manifest.previous"
fi
"$AWS" s3api put-object --bucket "$bucket" --key .releases/current.txt --body "$manifest" \
    --content-type "text/plain; charset=utf-8" --cache-control no-store \
    --metadata "release=$release" >/dev/null

say "invalidating /index.html and /admin/index.html on $distribution"
invalidation=$("$AWS" cloudfront create-invalidation --distribution-id "$distribution" \
    --invalidation-batch "{\"Paths\":{\"Quantity\":2,\"Items\":[\"/index.html\",\"/admin/index.html\"]},\"CallerReference\":\"$release-$(date -u +%s)\"}" \
    --query Invalidation.Id --output text)
# Polled here rather than with the CLI's waiter, whose first look comes only after 20 s.
for ((waited = 0; ; waited += 5)); do
    status=$("$AWS" cloudfront get-invalidation --distribution-id "$distribution" --id "$invalidation" \
        --query Invalidation.Status --output text)
    [ "$status" = Completed ] || [ "$status" = COMPLETED ] && break
    [ "$waited" -lt 900 ] || fail "invalidation $invalidation still $status after 15 minutes"
    sleep 5
done
say "the new index is live (invalidation $invalidation completed)"

mapfile -t stored < <("$AWS" s3api list-objects-v2 --bucket "$bucket" --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$' | grep -v '^\.releases/' || true)
mapfile -t stale < <(comm -23 <(printf '%s\n' "${stored[@]}" | LC_ALL=C sort -u) <(cat "$manifest" "$manifest.previous" | LC_ALL=C sort -u) | grep . || true)
if [ "${#stale[@]}" -eq 0 ]; then
    say "no stale files"
    exit 0
fi
say "deleting ${#stale[@]} stale files (in neither this release nor the previous one)"
for ((i = 0; i < ${#stale[@]}; i += 1000)); do
    batch=$(printf '%s\n' "${stale[@]:i:1000}" | jq -R . | jq -sc '{Objects: map({Key: .}), Quiet: true}')
    "$AWS" s3api delete-objects --bucket "$bucket" --delete "$batch" >/dev/null
done
say "published release $release"
