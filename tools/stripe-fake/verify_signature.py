"""Checks a Stripe-Signature header with the `stripe` package (an implementation TechVerse did
not write): `python verify_signature.py <secret> <header> < payload`. Exit 0 when it verifies."""

import sys

from stripe import SignatureVerificationError, WebhookSignature

try:
    WebhookSignature.verify_header(sys.stdin.buffer.read().decode(), sys.argv[2], sys.argv[1], tolerance=300)
except SignatureVerificationError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
