"""Reads the workflows and the CI-access template and checks what the linters cannot: that
production is only reachable through the `production` environment (whose required reviewers
are the approval), that OIDC is the only way in, and that nothing account-specific is
committed. Run by infra/check.sh (python -m unittest)."""

import pathlib
import re
import subprocess
import unittest

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


class CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (!Sub, !Ref, …) as plain values."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


CloudFormationLoader.add_multi_constructor("!", _any_tag)


def workflow(name):
    # PyYAML reads the key `on` as True.
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps_text(job):
    return "\n".join(str(step.get("run", "")) + str(step.get("with", "")) for step in job.get("steps", []))


class ProductionNeedsTheApproval(unittest.TestCase):
    def setUp(self):
        self.deploy = workflow("deploy.yml")
        self.jobs = self.deploy["jobs"]

    def test_only_the_production_job_deploys_production_and_it_runs_in_that_environment(self):
        touching = [name for name, job in self.jobs.items() if re.search(r"\bproduction\b", steps_text(job))]
        self.assertEqual(touching, ["production"])
        environment = self.jobs["production"]["environment"]
        self.assertEqual(environment["name"] if isinstance(environment, dict) else environment, "production")

    def test_production_comes_after_staging_and_only_when_asked(self):
        production = self.jobs["production"]
        self.assertIn("staging", production["needs"] if isinstance(production["needs"], list) else [production["needs"]])
        self.assertEqual(production["if"], "inputs.production")
        staging = self.jobs["staging"]
        self.assertEqual(staging["environment"]["name"], "staging")
        self.assertNotRegex(steps_text(staging), r"\bproduction\b")

    def test_no_other_workflow_runs_the_deploy_scripts(self):
        for path in WORKFLOWS.glob("*.yml"):
            if path.name == "deploy.yml":
                continue
            text = path.read_text()
            self.assertNotIn("infra/deploy/", text, f"{path.name} runs a deploy script outside deploy.yml")

    def test_ci_deploys_production_only_from_main_after_tests_and_security(self):
        ci = workflow("ci.yml")
        deploy = ci["jobs"]["deploy"]
        self.assertEqual(sorted(deploy["needs"]), ["security", "test"])
        self.assertEqual(deploy["uses"], "./.github/workflows/deploy.yml")
        self.assertEqual(deploy["with"]["production"], "${{ github.ref == 'refs/heads/main' }}")
        self.assertEqual(deploy["if"], "github.event_name == 'push'")

    def test_deploys_never_interleave(self):
        self.assertEqual(self.deploy["concurrency"], {"group": "deploy", "cancel-in-progress": False})

    def test_id_token_only_where_oidc_is_used(self):
        for name in ("ci.yml", "deploy.yml"):
            flow = workflow(name)
            self.assertEqual(flow["permissions"], {"contents": "read"}, name)
            for job_name, job in flow["jobs"].items():
                wants_token = job.get("permissions", {}).get("id-token") == "write"
                uses_oidc = "configure-aws-credentials" in str(job.get("steps", "")) or "deploy.yml" in str(job.get("uses", ""))
                self.assertEqual(wants_token, uses_oidc, f"{name}: {job_name}")

    def test_third_party_actions_are_pinned_to_a_commit(self):
        for path in WORKFLOWS.glob("*.yml"):
            for line in path.read_text().splitlines():
                found = re.search(r"uses:\s*([^\s#]+)", line)
                if not found or found.group(1).startswith("./"):
                    continue
                self.assertRegex(found.group(1), r"@[0-9a-f]{40}$", f"{path.name}: {line.strip()}")


class OidcTrust(unittest.TestCase):
    def setUp(self):
        text = (ROOT / "infra" / "aws" / "ci-access.yaml").read_text()
        self.template = yaml.load(text, Loader=CloudFormationLoader)

    def test_the_deploy_role_trusts_this_repository_in_one_environment_only(self):
        trust = self.template["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
        [statement] = trust["Statement"]
        self.assertEqual(statement["Action"], "sts:AssumeRoleWithWebIdentity")
        condition = statement["Condition"]["StringEquals"]
        self.assertEqual(condition["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com")
        self.assertEqual(
            condition["token.actions.githubusercontent.com:sub"],
            {"Sub": "repo:${GitHubRepository}:environment:${Environment}"},
        )
        self.assertNotIn("StringLike", statement["Condition"], "no wildcard subjects")

    def test_no_access_keys_are_created(self):
        types = {resource["Type"] for resource in self.template["Resources"].values()}
        self.assertNotIn("AWS::IAM::AccessKey", types)
        self.assertNotIn("AWS::IAM::User", types)


class TaskDefinition(unittest.TestCase):
    def setUp(self):
        text = (ROOT / "infra" / "aws" / "app.yaml").read_text()
        resources = yaml.load(text, Loader=CloudFormationLoader)["Resources"]
        containers = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
        self.app = next(container for container in containers if container["Name"] == "app")

    def test_no_variable_is_set_to_an_empty_string(self):
        # The app reads an empty TECHVERSE_* value as unset: an empty override would silently
        # bring back the built-in default instead of the image's setting.
        empty = [item["Name"] for item in self.app["Environment"] if item["Value"] == ""]
        self.assertEqual(empty, [])

    def test_it_listens_where_the_target_group_looks_and_drains_in_order(self):
        environment = {item["Name"]: item["Value"] for item in self.app["Environment"]}
        self.assertEqual(environment["TECHVERSE_LISTEN_ADDR"], "0.0.0.0:8080")
        self.assertEqual(self.app["PortMappings"][0]["ContainerPort"], 8080)
        self.assertLess(int(environment["TECHVERSE_SHUTDOWN_TIMEOUT_SECS"]), self.app["StopTimeout"])

    def test_every_secret_comes_from_this_environment(self):
        for secret in self.app["Secrets"]:
            self.assertTrue(secret["ValueFrom"]["Sub"].startswith("techverse/${Environment}/"), secret)


class NothingAccountSpecificIsCommitted(unittest.TestCase):
    ACCESS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
    SECRET_KEY = re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}", re.IGNORECASE)
    ACCOUNT_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:")

    def test_no_access_key_secret_or_account_arn_in_any_tracked_file(self):
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        found = []
        for name in filter(None, files.decode().split("\0")):
            path = ROOT / name
            if not path.is_file() or path.suffix in {".png", ".wasm", ".ico"}:
                continue
            text = path.read_text(errors="replace")
            for pattern in (self.ACCESS_KEY, self.SECRET_KEY, self.ACCOUNT_ARN):
                found += [f"{name}: {match.group(0)}" for match in pattern.finditer(text)]
        self.assertEqual(found, [])

    def test_the_patterns_catch_what_they_are_for(self):
        key = "AKIA" + "ABCDEFGHIJKLMNOP"
        self.assertRegex(f"id = {key}", self.ACCESS_KEY)
        self.assertRegex("arn:aws:iam::" + "123456789012" + ":role/x", self.ACCOUNT_ARN)
        self.assertNotRegex("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x", self.ACCOUNT_ARN)


if __name__ == "__main__":
    unittest.main()
