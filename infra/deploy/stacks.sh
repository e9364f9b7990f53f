#!/usr/bin/env bash
# Deploys the CloudFormation stacks of one environment through change sets, in dependency
# order, or only the layers named:
#
#   infra/deploy/stacks.sh staging                 # every layer
#   infra/deploy/stacks.sh production app deploy   # just these
#
# Each template parameter comes from, in order: the variable TV_<PARAMETER_IN_SNAKE_CASE>
# (account-specific values: certificate ARNs, hosted zone, prefix list, e-mail; set as
# GitHub environment variables, never committed), infra/aws/params/<env>.json (sizes and
# other committed choices), or the template's default. A change set without changes is
# deleted and the layer reported unchanged. A variable set to @previous keeps the value the
# stack already has. TV_CLOUDFORMATION_ROLE_ARN, when set, is the role
# CloudFormation acts with (ci-access.yaml).
. "$(dirname "$0")/lib.sh"

env=$(environment "${1:-}")
shift
layers=("$@")
if [ "${#layers[@]}" -eq 0 ]; then
    layers=(network registry data static app observability edge)
    [ "$env" = production ] && layers+=(deploy)
fi
params_file="$INFRA_DIR/aws/params/$env.json"
[ -f "$params_file" ] || fail "no $params_file"

# "CloudFrontPrefixList" -> "TV_CLOUD_FRONT_PREFIX_LIST"
variable_for() { printf 'TV_%s' "$(sed -E 's/([a-z0-9])([A-Z])/\1_\2/g' <<<"$1" | tr '[:lower:]' '[:upper:]')"; }

# ParameterKey=…,ParameterValue=… arguments for one template.
parameters_for() {
    local layer="$1" template="$2" name variable value
    while read -r name; do
        [ -n "$name" ] || continue
        if [ "$name" = Environment ]; then
            value="$env"
        else
            variable=$(variable_for "$name")
            if [ "${!variable:-}" = "@previous" ]; then
                printf 'ParameterKey=%s,UsePreviousValue=true\n' "$name"
                continue
            elif [ -n "${!variable:-}" ]; then
                value="${!variable}"
            else
                value=$(jq -r --arg layer "$layer" --arg name "$name" '.[$layer][$name] // empty' "$params_file")
                [ -n "$value" ] || continue # the template's default, or CloudFormation says what is missing
            fi
        fi
        printf 'ParameterKey=%s,ParameterValue=%s\n' "$name" "${value//,/\\,}"
    done < <("$AWS" cloudformation get-template-summary --template-body "file://$template" \
        --query 'Parameters[].ParameterKey' --output text | tr '\t' '\n')
}

deploy_layer() {
    local layer="$1" template="$INFRA_DIR/aws/$1.yaml" stack type change_set status reason
    [ -f "$template" ] || fail "no template for layer '$layer'"
    stack=$(stack_name "$env" "$layer")
    if "$AWS" cloudformation describe-stacks --stack-name "$stack" >/dev/null 2>&1; then type=UPDATE; else type=CREATE; fi
    change_set="deploy-$(date -u +%Y%m%d%H%M%S)"
    local args=()
    mapfile -t parameters < <(parameters_for "$layer" "$template")
    [ "${#parameters[@]}" -eq 0 ] || args+=(--parameters "${parameters[@]}")
    [ -z "${TV_CLOUDFORMATION_ROLE_ARN:-}" ] || args+=(--role-arn "$TV_CLOUDFORMATION_ROLE_ARN")
    say "$stack: creating change set ($type)"
    local refused
    if ! refused=$("$AWS" cloudformation create-change-set --stack-name "$stack" --change-set-name "$change_set" \
        --change-set-type "$type" --template-body "file://$template" \
        --capabilities CAPABILITY_IAM CAPABILITY_NAMED_IAM \
        --tags Key=techverse-environment,Value="$env" "${args[@]}" 2>&1 >/dev/null); then
        # Some endpoints refuse an empty update at once instead of failing the change set.
        [[ "$refused" == *"No updates are to be performed"* ]] || fail "$stack: $refused"
        say "$stack: unchanged"
        return
    fi
    if ! "$AWS" cloudformation wait change-set-create-complete --stack-name "$stack" --change-set-name "$change_set" 2>/dev/null; then
        read -r status reason < <("$AWS" cloudformation describe-change-set --stack-name "$stack" \
            --change-set-name "$change_set" --query '[Status, StatusReason]' --output text)
        if [[ "$reason" == *"didn't contain changes"* || "$reason" == *"No updates"* ]]; then
            "$AWS" cloudformation delete-change-set --stack-name "$stack" --change-set-name "$change_set"
            say "$stack: unchanged"
            return
        fi
        fail "$stack: change set $status: $reason"
    fi
    "$AWS" cloudformation execute-change-set --stack-name "$stack" --change-set-name "$change_set"
    if [ "$type" = CREATE ]; then
        "$AWS" cloudformation wait stack-create-complete --stack-name "$stack" || true
    else
        "$AWS" cloudformation wait stack-update-complete --stack-name "$stack" || true
    fi
    status=$("$AWS" cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text)
    case "$status" in
        CREATE_COMPLETE | UPDATE_COMPLETE) say "$stack: $status" ;;
        *)
            # shellcheck disable=SC2016 # backticks are JMESPath literals
            "$AWS" cloudformation describe-stack-events --stack-name "$stack" --max-items 20 \
                --query 'StackEvents[?contains(ResourceStatus, `FAILED`)].[LogicalResourceId, ResourceStatusReason]' \
                --output text >&2 || true
            fail "$stack: $status"
            ;;
    esac
}

for layer in "${layers[@]}"; do
    deploy_layer "$layer"
done
