#!/usr/bin/env python3
"""Starts the real binary, fetches /api/v1/openapi.json and validates it with an independent
validator (openapi-spec-validator, OpenAPI 3.1 rules). Prints the operation count; exits
non-zero when the document is invalid or the server does not answer.

    TECHVERSE_BIN=target/debug/techverse python tools/openapi/validate.py"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, deadline):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.load(answer)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main():
    binary = os.environ["TECHVERSE_BIN"]
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, TECHVERSE_DATA_DIR=data, TECHVERSE_LISTEN_ADDR=f"127.0.0.1:{port}",
                   TECHVERSE_PUBLIC_URL=f"http://127.0.0.1:{port}", TECHVERSE_LOG_LEVEL="warn")
        server = subprocess.Popen([binary, "serve"], env=env)
        try:
            doc = fetch(f"http://127.0.0.1:{port}/api/v1/openapi.json", time.monotonic() + 60)
        finally:
            server.terminate()
            server.wait(timeout=30)
    validate(doc, cls=OpenAPIV31SpecValidator)
    operations = sum(1 for item in doc["paths"].values() for method in item
                     if method in ("get", "put", "post", "patch", "delete"))
    print(f"openapi.json {doc['openapi']}: {len(doc['paths'])} paths, {operations} operations, "
          f"{len(doc['components']['schemas'])} schemas: valid (openapi-spec-validator)")


if __name__ == "__main__":
    sys.exit(main())
