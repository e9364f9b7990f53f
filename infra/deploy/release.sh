#!/usr/bin/env bash
# One release of one commit to one environment, as deploy.yml runs it:
#
#   infra/deploy/release.sh staging <commit SHA> image.tar.gz frontend/dist https://staging.example.com
#
# 1. the stacks the image needs (network, registry, data, static), 2. the image pushed once,
# 3. the remaining stacks (app, observability, edge; production also deploy), 4. the service
# rolled onto the image (staging in place, production by the CodeDeploy canary), 5. the apps
# published to S3 with the old files removed after the new index is live, 6. the smoke test.
# TV_VARIABLES, when set, is a JSON object (GitHub's `vars`) whose TV_* entries become the
# stack parameters.
. "$(dirname "$0")/lib.sh"

env=$(environment "${1:-}")
sha=$(commit_sha "${2:-}")
image="${3:?the image archive (docker save)}"
dist="${4:?the built apps (frontend/dist)}"
url="${5:?the public URL to smoke-test}"

if [ -n "${TV_VARIABLES:-}" ]; then
    while IFS=$'\t' read -r name value; do
        export "$name=$value"
    done < <(jq -r 'to_entries[] | select(.key | test("^TV_[A-Z0-9_]+$")) | [.key, .value] | @tsv' <<<"$TV_VARIABLES")
fi

bash "$INFRA_DIR/deploy/stacks.sh" "$env" network registry data static
"${DOCKER:-docker}" load --input "$image"
bash "$INFRA_DIR/deploy/image.sh" "$env" "$sha"
# The task definition's first image comes from the stack; later ones from service.sh, so an
# existing app stack keeps its ImageTag (CodeDeploy owns production's task set).
if "$AWS" cloudformation describe-stacks --stack-name "$(stack_name "$env" app)" >/dev/null 2>&1; then
    export TV_IMAGE_TAG=@previous
else
    export TV_IMAGE_TAG="$sha"
fi
later=(app observability edge)
[ "$env" = production ] && later+=(deploy)
bash "$INFRA_DIR/deploy/stacks.sh" "$env" "${later[@]}"
bash "$INFRA_DIR/deploy/service.sh" "$env" "$sha"
bash "$INFRA_DIR/deploy/static.sh" "$env" "$dist" "$sha"
bash "$INFRA_DIR/deploy/smoke.sh" "$url"
say "released $sha to $env"
