"""Checks a webhook delivery with the standardwebhooks package (an implementation of the
Standard Webhooks specification independent of ours).

Reads {"secret": "whsec_…", "headers": {...}, "body": "…"} as JSON on stdin; prints "verified"
and exits 0 when the signature is valid, else prints the error and exits 1.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook


def main() -> int:
    request = json.load(sys.stdin)
    try:
        Webhook(request["secret"]).verify(request["body"], request["headers"])
    except Exception as error:  # the package raises its own verification errors
        print(f"not verified: {error!r}")
        return 1
    print("verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
