#!/usr/bin/env python3
"""Checks the running server against its own OpenAPI document with schemathesis.

Starts the real binary on a fresh data directory with the demo store seeded, opens what the
token schemes need (a registered customer, a guest cart, a placed order), writes a
schemathesis config that logs the staff owner and the customer in (and again after a 401:
schemathesis may well call logout), pins the path parameters to the demo store's real
resources, then runs every operation with a fixed number of examples per operation and a
time cap. Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance. Exits non-zero on any failure.

    TECHVERSE_BIN=target/debug/techverse python tools/openapi/schemathesis.py

Environment: SCHEMATHESIS_MAX_EXAMPLES (per operation, default 50), SCHEMATHESIS_SEED
(default 20261202, so a CI failure can be replayed), SCHEMATHESIS_TIME_CAP (seconds for the
whole run, default 600), SCHEMATHESIS_REPORT_DIR (reports kept there, default a temporary
directory)."""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                text = answer.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None
        return json.loads(text) if text else None

    def wait_ready(self, deadline):
        while True:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def server_env(data, port):
    return dict(
        os.environ,
        TECHVERSE_DATA_DIR=data,
        TECHVERSE_LISTEN_ADDR=f"127.0.0.1:{port}",
        TECHVERSE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TECHVERSE_LOG_LEVEL="warn",
        TECHVERSE_ARGON2_MEMORY_KIB="1024",
        TECHVERSE_ARGON2_ITERATIONS="1",
        # Lifted as the benchmarks and e2e tests do: schemathesis sends thousands of requests
        # from one address; the limiter's own 429 answers are covered by the API tests.
        **{f"TECHVERSE_RATE_LIMIT_{name}": "1000000" for name in (
            "IP_PER_MINUTE", "USER_PER_MINUTE", "STORE_PER_MINUTE", "STORE_IP_PER_MINUTE",
            "STORE_STAFF_PER_MINUTE", "LOGIN_PER_MINUTE", "ACCOUNT_MAIL_PER_HOUR")},
    )


def seed(binary, env):
    out = subprocess.run([binary, "seed", "demo", "--no-history"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return re.search(r"owner: (\S+)", out)[1], re.search(r"password: (\S+)", out)[1]


def shopper_resources(api):
    """A registered customer, a guest cart with a line, and a placed guest order."""
    customer = {"email": f"st-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse battery",
                "name": "Schema Thesis"}
    api.call("POST", "/api/v1/stores/demo/customers", customer)
    page = api.call("GET", "/api/v1/stores/demo/products?in_stock=true&sort=price_asc")
    product = api.call("GET", f"/api/v1/stores/demo/products/{page['items'][0]['slug']}")
    variant = next(v for v in product["variants"] if v["in_stock"])

    def cart_with_line():
        cart = api.call("POST", "/api/v1/stores/demo/carts")
        token = {"X-Cart-Token": cart["token"]}
        api.call("POST", f"/api/v1/stores/demo/carts/{cart['id']}/lines",
                 {"variant_id": variant["id"], "quantity": 1}, token)
        return cart, token

    ordered, token = cart_with_line()
    methods = api.call("GET", f"/api/v1/stores/demo/carts/{ordered['id']}/shipping-methods?country=NG",
                       headers=token)
    order = api.call("POST", "/api/v1/stores/demo/checkout", {
        "cart_id": ordered["id"], "email": "ada@example.com",
        "shipping_address": {"name": "Ada Obi", "line1": "12 Admiralty Way", "city": "Lagos",
                             "region": "Lagos", "country": "NG", "phone": "+2348012345678"},
        "shipping_method_id": methods[-1]["id"], "payment_method": "cash_on_delivery",
    }, {**token, "Idempotency-Key": str(uuid.uuid4())})
    cart, _ = cart_with_line()
    return customer, cart, order, product


def toml_string(text):
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def write_config(path, owner, customer, cart, order, product):
    email, password = owner
    lines = [
        "# Written by tools/openapi/schemathesis.py for one run.",
        "[auth.dynamic.openapi.staff]",
        'path = "/api/v1/auth/login"',
        f"payload = {{ email = {toml_string(email)}, password = {toml_string(password)} }}",
        'extract_selector = "/access_token"',
        "[auth.dynamic.openapi.customer]",
        'path = "/api/v1/stores/demo/auth/login"',
        f"payload = {{ email = {toml_string(customer['email'])}, password = {toml_string(customer['password'])} }}",
        'extract_selector = "/access_token"',
        "[auth.openapi.cart_token]",
        f"api_key = {toml_string(cart['token'])}",
        "[auth.openapi.order_token]",
        f"api_key = {toml_string(order['token'])}",
        # Path parameters naming the demo store's real resources, so operations get past the
        # 404 of a random id and reach their validation and their success answers.
        "[parameters]",
        '"path.store" = "demo"',
        f'"path.cart" = {toml_string(cart["id"])}',
        f'"path.order" = {toml_string(order["id"])}',
        f'"path.slug" = {toml_string(product["slug"])}',
        f'"path.product" = {toml_string(product["id"])}',
        f'"path.variant" = {toml_string(product["variants"][0]["id"])}',
        # schemathesis reuses values it saw in answers (GET /me gives the owner's email). Sent
        # to the login routes with made-up passwords, they would trip the per-account login
        # backoff (5 failures, then growing delays: a feature the API tests cover) and lock
        # the run's own logins out; those two operations generate their own values only.
        "[[operations]]",
        'include-path-regex = "/auth/login$"',
        *(f"phases.{phase}.extra-data-sources.responses = false"
          for phase in ("examples", "coverage", "fuzzing")),
    ]
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def summarise(report_dir):
    """Operations and test cases from schemathesis' JUnit report."""
    junit = next(pathlib.Path(report_dir).glob("*.xml"), None)
    if junit is None:
        return "no JUnit report"
    text = junit.read_text()
    cases = len(re.findall(r"<testcase ", text))
    failures = len(re.findall(r"<failure", text))
    errors = len(re.findall(r"<error", text))
    return f"{cases} operations in the JUnit report, {failures} failed, {errors} errored"


def main():
    binary = os.environ["TECHVERSE_BIN"]
    st = os.environ.get("SCHEMATHESIS", shutil.which("st") or "st")
    max_examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50")
    seed_value = os.environ.get("SCHEMATHESIS_SEED", "20261202")
    time_cap = int(os.environ.get("SCHEMATHESIS_TIME_CAP", "600"))
    port = free_port()
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as work:
        report_dir = os.environ.get("SCHEMATHESIS_REPORT_DIR") or os.path.join(work, "report")
        env = server_env(data, port)
        owner = seed(binary, env)
        server = subprocess.Popen([binary, "serve"], env=env)
        try:
            api = Api(f"http://127.0.0.1:{port}")
            api.wait_ready(time.monotonic() + 60)
            customer, cart, order, product = shopper_resources(api)
            config = os.path.join(work, "schemathesis.toml")
            write_config(config, owner, customer, cart, order, product)
            command = [
                st, "--no-color", "--config-file", config, "run", f"{api.base}/api/v1/openapi.json",
                "--checks", ",".join(CHECKS),
                "--max-examples", max_examples, "--seed", seed_value,
                "--phases", "examples,coverage,fuzzing",
                # One worker: with two, CPython 3.11's AST state (shared by threads) can make
                # Hypothesis' ast.parse fail with "SystemError: AST constructor recursion depth
                # mismatch" (python/cpython#106905), a tool crash reported as an error.
                "--workers", "1", "--request-timeout", "30",
                "--report", "junit", "--report-dir", report_dir,
                "--suppress-health-check", "too_slow,filter_too_much,data_too_large",
            ]
            print("+", " ".join(command), flush=True)
            started = time.monotonic()
            try:
                result = subprocess.run(command, timeout=time_cap, cwd=work,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            except subprocess.TimeoutExpired:
                print(f"schemathesis did not finish within its {time_cap} s cap")
                return 1
            print(result.stdout)
            cases = re.search(r"(\d+) generated", result.stdout)
            print(f"schemathesis: {summarise(report_dir)}, "
                  f"{cases[1] if cases else '?'} test cases; exit {result.returncode} "
                  f"after {time.monotonic() - started:.0f} s "
                  f"(max {max_examples} examples per operation, seed {seed_value})")
            if server.poll() is not None:
                print(f"the server exited during the run ({server.returncode})")
                return 1
            return result.returncode
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
