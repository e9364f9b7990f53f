#!/usr/bin/env bash
# Rolls the environment's ECS service onto the image of one commit:
#
#   infra/deploy/service.sh staging <commit SHA>
#
# A new task-definition revision is registered from the running one with only the app
# container's image changed. Staging then updates the service in place and waits: the
# deployment circuit breaker rolls a failing release back, and this script fails if it did.
# Production hands the revision to CodeDeploy (blue/green, 10 % canary for 5 minutes); a
# deployment that fails or is stopped by an alarm has rolled back by itself, and this script
# fails naming the alarm. TV_REPOSITORY_URI overrides the registry stack's output.
. "$(dirname "$0")/lib.sh"

env=$(environment "${1:-}")
sha=$(commit_sha "${2:-}")
cluster="techverse-$env"
service="techverse-$env"
uri=$(repository_uri "$env")

current=$("$AWS" ecs describe-services --cluster "$cluster" --services "$service" \
    --query 'services[0].taskDefinition' --output text)
[ -n "$current" ] && [ "$current" != None ] || fail "no service $service in cluster $cluster"
definition=$(mktemp)
trap 'rm -f "$definition"' EXIT
"$AWS" ecs describe-task-definition --task-definition "$current" --query taskDefinition --output json |
    jq --arg image "$uri:$sha" '
        .containerDefinitions |= map(if .name == "app" then .image = $image else . end)
        | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
              .registeredAt, .registeredBy, .deregisteredAt)' >"$definition"
revision=$("$AWS" ecs register-task-definition --cli-input-json "file://$definition" \
    --query taskDefinition.taskDefinitionArn --output text)
say "registered $revision"

if [ "$env" = staging ]; then
    "$AWS" ecs update-service --cluster "$cluster" --service "$service" --task-definition "$revision" >/dev/null
    say "waiting for $service to settle"
    "$AWS" ecs wait services-stable --cluster "$cluster" --services "$service" || true
    # shellcheck disable=SC2016 # backticks are JMESPath literals
    read -r running state < <("$AWS" ecs describe-services --cluster "$cluster" --services "$service" \
        --query 'services[0].[taskDefinition, deployments[?status==`PRIMARY`] | [0].rolloutState]' --output text)
    [ "$running" = "$revision" ] && [ "$state" = COMPLETED ] ||
        fail "staging did not settle on $revision (running $running, rollout $state): the circuit breaker rolled it back"
    say "staging runs $revision"
    exit 0
fi

appspec=$(jq -nc --arg revision "$revision" '{
    version: 0.0,
    Resources: [{TargetService: {Type: "AWS::ECS::Service", Properties: {
        TaskDefinition: $revision,
        LoadBalancerInfo: {ContainerName: "app", ContainerPort: 8080}}}}]}')
revision_json=$(jq -nc --arg content "$appspec" '{revisionType: "AppSpecContent", appSpecContent: {content: $content}}')
deployment=$("$AWS" deploy create-deployment --application-name "techverse-$env" \
    --deployment-group-name "techverse-$env" --revision "$revision_json" \
    --description "commit $sha" --query deploymentId --output text)
say "CodeDeploy $deployment: 10 % canary for 5 minutes, then everyone"
while :; do
    status=$("$AWS" deploy get-deployment --deployment-id "$deployment" --query deploymentInfo.status --output text)
    case "$status" in
        Succeeded) say "production runs $revision"; exit 0 ;;
        Failed | Stopped) break ;;
    esac
    sleep 15
done
reason=$("$AWS" deploy get-deployment --deployment-id "$deployment" \
    --query 'deploymentInfo.errorInformation.message' --output text)
alarms=$("$AWS" cloudwatch describe-alarms --alarm-name-prefix "techverse-$env-canary-" --state-value ALARM \
    --query 'MetricAlarms[].AlarmName' --output text)
fail "the canary rolled back ($status): ${alarms:+alarm $alarms: }$reason"
