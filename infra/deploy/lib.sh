# shellcheck shell=bash
# Shared by the deploy scripts (sourced, not run). Every script takes the environment
# (staging|production) first and talks to AWS only through the `aws` CLI, so the same scripts
# run in GitHub Actions (OIDC credentials) and here against moto (AWS_ENDPOINT_URL).
set -euo pipefail

AWS="${AWS:-aws}"
export INFRA_DIR
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The environment argument, checked.
environment() {
    case "${1:-}" in
        staging | production) printf '%s' "$1" ;;
        *) fail "the first argument must be staging or production, not '${1:-}'" ;;
    esac
}

# The commit argument, checked: a full SHA, as image tags and releases are named.
commit_sha() {
    [[ "${1:-}" =~ ^[0-9a-f]{40}$ ]] || fail "the second argument must be a full commit SHA, not '${1:-}'"
    printf '%s' "$1"
}

stack_name() { printf 'techverse-%s-%s' "$1" "$2"; }

# One output of a deployed stack; the variable named third, when set, overrides it (for a
# one-off run, or an emulator that keeps no outputs).
stack_output() {
    local stack="$1" key="$2" override="${3:-}" value
    if [ -n "$override" ] && [ -n "${!override:-}" ]; then
        printf '%s' "${!override}"
        return
    fi
    value=$("$AWS" cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$key'].OutputValue | [0]" --output text)
    [ -n "$value" ] && [ "$value" != "None" ] || fail "stack $stack has no output $key"
    printf '%s' "$value"
}

# The environment's ECR repository URI (TV_REPOSITORY_URI overrides the registry stack).
repository_uri() { stack_output "$(stack_name "$1" registry)" RepositoryUri TV_REPOSITORY_URI; }
