#!/usr/bin/env bash
# Pushes the image built for one commit to the environment's ECR repository, once:
#
#   infra/deploy/image.sh staging <commit SHA> [local image, default techverse:<SHA>]
#
# Tags are immutable (app.yaml), so a tag already in the repository is never pushed again;
# after a push the registry is asked whether it holds the tag. DOCKER (default docker) is the
# client that logs in, tags and pushes. TV_REPOSITORY_URI overrides the registry stack's output.
. "$(dirname "$0")/lib.sh"

env=$(environment "${1:-}")
sha=$(commit_sha "${2:-}")
local_image="${3:-techverse:$sha}"
DOCKER="${DOCKER:-docker}"
uri=$(repository_uri "$env")
repository="${uri#*/}"
registry="${uri%%/*}"

if "$AWS" ecr describe-images --repository-name "$repository" --image-ids "imageTag=$sha" >/dev/null 2>&1; then
    say "$uri:$sha is already in the registry"
    exit 0
fi
say "logging in to $registry"
"$AWS" ecr get-login-password | "$DOCKER" login --username AWS --password-stdin "$registry"
"$DOCKER" tag "$local_image" "$uri:$sha"
say "pushing $uri:$sha"
"$DOCKER" push "$uri:$sha"
digest=$("$AWS" ecr describe-images --repository-name "$repository" --image-ids "imageTag=$sha" \
    --query 'imageDetails[0].imageDigest' --output text) || fail "the registry does not hold $uri:$sha after the push"
say "pushed $uri:$sha ($digest)"
