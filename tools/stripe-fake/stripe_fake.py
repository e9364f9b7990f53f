"""A local fake of the parts of Stripe TechVerse uses, for tests (never for production).

Why our own: localstripe (the PyPI fake) rejects `automatic_payment_methods`, ignores
`Idempotency-Key`, has no Connect (`Stripe-Account`, accounts, account links) and no
`amount_received`; this fake covers exactly what TechVerse calls, with Stripe's object shapes.

- API (form-encoded, `Authorization: Bearer sk_test_…`): accounts, account links,
  PaymentIntents (create, retrieve, cancel, confirm), refunds; `Stripe-Account` scopes
  PaymentIntents and refunds to a connected account; `Idempotency-Key` replays the first answer.
- Stripe.js at `/v3/`: `Stripe(pk, {stripeAccount})`, `elements({clientSecret})`,
  `create('payment').mount(el)` (an iframe from this origin holding the card field) and
  `confirmPayment({elements, redirect: 'if_required'})`. The card number is typed into that
  iframe and sent from it to this server only.
- Webhooks: every change emits a Stripe event, signed with the `stripe` package's
  `WebhookSignature.generate_signature_header` and POSTed to the configured URL (before the
  API call that caused it answers), unless deliveries are held or dropped.
- Test controls under `/_test/`: see `do_POST`.

Run: python stripe_fake.py [--port 0] [--webhook-url URL] [--webhook-secret whsec_…]
Prints `listening on http://127.0.0.1:<port>` once ready.
"""

import argparse
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stripe import WebhookSignature

LOCK = threading.RLock()
# Events a request caused, delivered by its thread once the state lock is released and before
# it answers (so a webhook can reach TechVerse before the API answer does).
LOCAL = threading.local()
STATE = {
    "accounts": {},
    "intents": {},
    "refunds": {},
    "idempotency": {},
    "events": [],
    "held": [],
    "webhook_url": None,
    "webhook_secret": None,
    "hold_webhooks": False,
    "drop_webhooks": False,
    "down": False,
}
DECLINED_CARD = "4000000000000002"


def new_id(prefix):
    return f"{prefix}_{secrets.token_hex(12)}"


def now():
    return int(time.time())


def parse_form(body):
    """Stripe's bracketed form encoding (`metadata[store_id]=…`) into nested dicts."""
    result = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


class ApiError(Exception):
    def __init__(self, status, code, message, kind="invalid_request_error"):
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind

    def body(self):
        return {"error": {"type": self.kind, "code": self.code, "message": self.message}}


def requirements(due):
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": due,
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": due,
        "past_due": [],
        "pending_verification": [],
    }


def emit(kind, obj, account=None):
    """Records an event and delivers it (or holds it)."""
    event = {
        "id": new_id("evt"),
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": now(),
        "type": kind,
        "livemode": False,
        "pending_webhooks": 1,
        "data": {"object": json.loads(json.dumps(obj))},
    }
    if account:
        event["account"] = account
    with LOCK:
        STATE["events"].append(event)
        if STATE["drop_webhooks"]:
            return event
        if STATE["hold_webhooks"]:
            STATE["held"].append(event)
            return event
    outgoing().append(event)
    return event


def outgoing():
    if not hasattr(LOCAL, "events"):
        LOCAL.events = []
    return LOCAL.events


def deliver(event):
    url, secret = STATE["webhook_url"], STATE["webhook_secret"]
    if not url or not secret:
        return None
    payload = json.dumps(event)
    header = WebhookSignature.generate_signature_header(payload, secret)
    request = urllib.request.Request(
        url,
        data=payload.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def find_intent(intent_id, account):
    intent = STATE["intents"].get(intent_id)
    if intent is None or intent["_account"] != account:
        raise ApiError(404, "resource_missing", f"No such payment_intent: '{intent_id}'")
    return intent


def public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def create_account(form, _account):
    account_id = new_id("acct")
    account = {
        "id": account_id,
        "object": "account",
        "type": form.get("type", "express"),
        "email": form.get("email"),
        "metadata": form.get("metadata", {}),
        "charges_enabled": False,
        "payouts_enabled": False,
        "details_submitted": False,
        "created": now(),
        "requirements": requirements(["external_account", "individual.dob.day", "tos_acceptance.date"]),
    }
    STATE["accounts"][account_id] = account
    return account


def create_link(form, _account):
    if form.get("account") not in STATE["accounts"]:
        raise ApiError(404, "resource_missing", "No such account")
    for key in ("return_url", "refresh_url"):
        if not form.get(key, "").startswith(("http://", "https://")):
            raise ApiError(400, "parameter_missing", f"{key} must be a URL")
    return {
        "object": "account_link",
        "created": now(),
        "expires_at": now() + 300,
        "url": f"https://connect.stripe.test/setup/e/{form['account']}/{secrets.token_hex(8)}",
    }


def create_intent(form, account):
    if not account or account not in STATE["accounts"]:
        raise ApiError(400, "account_invalid", "a direct charge needs Stripe-Account")
    if not STATE["accounts"][account]["charges_enabled"]:
        raise ApiError(400, "account_invalid", "the account cannot take charges yet")
    amount = int(form.get("amount", "0"))
    if amount < 1:
        raise ApiError(400, "amount_too_small", "Amount must be at least 1")
    if form.get("automatic_payment_methods", {}).get("enabled") != "true":
        raise ApiError(400, "parameter_missing", "automatic_payment_methods[enabled] expected")
    intent_id = new_id("pi")
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "application_fee_amount": int(form["application_fee_amount"]) if "application_fee_amount" in form else None,
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "always"},
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{secrets.token_hex(10)}",
        "confirmation_method": "automatic",
        "created": now(),
        "currency": form.get("currency", "usd"),
        "last_payment_error": None,
        "livemode": False,
        "metadata": form.get("metadata", {}),
        "payment_method_types": ["card"],
        "status": "requires_payment_method",
        "_account": account,
    }
    STATE["intents"][intent_id] = intent
    emit("payment_intent.created", public(intent), account)
    return intent


def succeed(intent, amount_received=None, currency=None):
    intent["status"] = "succeeded"
    intent["amount_received"] = intent["amount"] if amount_received is None else amount_received
    if currency:
        intent["currency"] = currency
    intent["last_payment_error"] = None
    emit("payment_intent.succeeded", public(intent), intent["_account"])


def fail(intent, message):
    intent["status"] = "requires_payment_method"
    intent["last_payment_error"] = {"type": "card_error", "code": "card_declined", "message": message}
    emit("payment_intent.payment_failed", public(intent), intent["_account"])


def cancel_intent(intent):
    if intent["status"] in ("succeeded", "canceled"):
        raise ApiError(
            400,
            "payment_intent_unexpected_state",
            f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}.",
        )
    intent["status"] = "canceled"
    emit("payment_intent.canceled", public(intent), intent["_account"])
    return intent


def create_refund(form, account):
    intent = find_intent(form.get("payment_intent", ""), account)
    if intent["status"] != "succeeded":
        raise ApiError(400, "charge_not_refundable", "the PaymentIntent has not succeeded")
    refunded = sum(r["amount"] for r in STATE["refunds"].values() if r["payment_intent"] == intent["id"])
    amount = int(form.get("amount", intent["amount_received"] - refunded))
    if amount < 1 or refunded + amount > intent["amount_received"]:
        raise ApiError(400, "charge_already_refunded", "Refund amount is greater than the unrefunded amount")
    refund = {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "charge": "ch_" + intent["id"][3:],
        "created": now(),
        "currency": intent["currency"],
        "metadata": form.get("metadata", {}),
        "payment_intent": intent["id"],
        "status": "succeeded",
    }
    STATE["refunds"][refund["id"]] = refund
    emit("refund.created", refund, account)
    return refund


STRIPE_JS = r"""
(function () {
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  window.Stripe = function (publishableKey, options) {
    options = options || {};
    if (!/^pk_/.test(publishableKey || "")) { throw new Error("Stripe(): a publishable key is required"); }
    return {
      elements: function (config) {
        var frame = null;
        return {
          _clientSecret: config.clientSecret,
          _frame: function () { return frame; },
          create: function (type) {
            return {
              mount: function (target) {
                var el = typeof target === "string" ? document.querySelector(target) : target;
                frame = document.createElement("iframe");
                frame.src = origin + "/elements/" + type;
                frame.name = "stripe-fake-" + type;
                frame.title = "Secure payment input frame";
                frame.width = "100%";
                frame.height = "96";
                frame.frameBorder = "0";
                el.appendChild(frame);
              },
              on: function () {}
            };
          }
        };
      },
      confirmPayment: function (params) {
        var elements = params.elements;
        var frame = elements._frame();
        return new Promise(function (resolve) {
          var id = Math.random().toString(36).slice(2);
          window.addEventListener("message", function onMessage(event) {
            if (event.origin !== origin || !event.data || event.data.id !== id) { return; }
            window.removeEventListener("message", onMessage);
            resolve(event.data.result);
          });
          frame.contentWindow.postMessage({
            type: "confirm", id: id, clientSecret: elements._clientSecret,
            publishableKey: publishableKey, account: options.stripeAccount || ""
          }, origin);
        });
      }
    };
  };
})();
"""

PAYMENT_FRAME = r"""<!doctype html><html><head><meta charset="utf-8"><title>Card</title></head>
<body style="font-family:sans-serif;margin:0">
<label for="cardnumber">Card number</label>
<input id="cardnumber" name="cardnumber" autocomplete="cc-number" inputmode="numeric" style="display:block;width:95%">
<script>
window.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "confirm") { return; }
  var data = event.data;
  var intent = data.clientSecret.split("_secret_")[0];
  var body = new URLSearchParams({
    client_secret: data.clientSecret,
    key: data.publishableKey,
    "payment_method_data[card][number]": document.getElementById("cardnumber").value
  });
  fetch("/v1/payment_intents/" + intent + "/confirm", {
    method: "POST", body: body, headers: { "Stripe-Account": data.account }
  }).then(function (r) { return r.json(); }).then(function (json) {
    var result = json.error ? { error: json.error } : { paymentIntent: json };
    event.source.postMessage({ id: data.id, result: result }, event.origin);
  });
});
</script></body></html>"""


class Handler(BaseHTTPRequestHandler):
    server_version = "stripe-fake/1"

    def log_message(self, *_args):
        pass

    def send(self, status, body, content_type="application/json"):
        events, LOCAL.events = outgoing(), []
        for event in events:
            deliver(event)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", new_id("req"))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path in ("/v3", "/v3/"):
            return self.send(200, STRIPE_JS.encode(), "application/javascript")
        if path == "/elements/payment":
            return self.send(200, PAYMENT_FRAME.encode(), "text/html; charset=utf-8")
        try:
            with LOCK:
                status, body = 200, self.read(path)
        except ApiError as error:
            status, body = error.status, error.body()
        self.send(status, body)

    def read(self, path):
        if path == "/_test/events":
            return {"data": STATE["events"]}
        self.authorize()
        account = self.headers.get("Stripe-Account")
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "accounts"] and len(parts) == 3:
            found = STATE["accounts"].get(parts[2])
            if not found:
                raise ApiError(404, "resource_missing", "No such account")
            return found
        if parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
            return public(find_intent(parts[2], account))
        if parts[:2] == ["v1", "refunds"] and len(parts) == 3:
            refund = STATE["refunds"].get(parts[2])
            if not refund:
                raise ApiError(404, "resource_missing", "No such refund")
            return refund
        raise ApiError(404, "resource_missing", f"Unrecognized request URL (GET: {path})")

    def authorize(self):
        if STATE["down"]:
            raise ApiError(503, "api_error", "Stripe is down (fake)", "api_error")
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk_"):
            raise ApiError(401, "api_key_invalid", "Invalid API Key provided", "invalid_request_error")

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        raw = self.body()
        try:
            if path.startswith("/_test/"):
                with LOCK:
                    result = self.control(path, json.loads(raw) if raw else {})
                if isinstance(result, list):
                    statuses = [deliver(event) for event in result]
                    return self.send(200, {"delivered": len(result), "statuses": statuses})
                return self.send(200, result)
            parts = path.strip("/").split("/")
            if parts[:2] == ["v1", "payment_intents"] and len(parts) == 4 and parts[3] == "confirm":
                with LOCK:
                    confirmed = self.confirm(parts[2], parse_form(raw))
                return self.send(200, confirmed)
            self.authorize()
            account = self.headers.get("Stripe-Account")
            key = self.headers.get("Idempotency-Key")
            form = parse_form(raw)
            with LOCK:
                replay = STATE["idempotency"].get((key, account, path)) if key else None
            if replay:
                return self.send(*replay)
            with LOCK:
                try:
                    status, body = 200, self.route(parts, form, account)
                except ApiError as error:
                    status, body = error.status, error.body()
                if key:
                    STATE["idempotency"][(key, account, path)] = (status, body)
            return self.send(status, body)
        except ApiError as error:
            self.send(error.status, error.body())

    def route(self, parts, form, account):
        if parts == ["v1", "accounts"]:
            return create_account(form, account)
        if parts == ["v1", "account_links"]:
            return create_link(form, account)
        if parts == ["v1", "payment_intents"]:
            return public(create_intent(form, account))
        if parts[:2] == ["v1", "payment_intents"] and len(parts) == 4 and parts[3] == "cancel":
            return public(cancel_intent(find_intent(parts[2], account)))
        if parts == ["v1", "refunds"]:
            return create_refund(form, account)
        raise ApiError(404, "resource_missing", "Unrecognized request URL")

    def confirm(self, intent_id, form):
        """What Stripe.js calls from the card frame: the publishable key and client secret."""
        with LOCK:
            intent = find_intent(intent_id, self.headers.get("Stripe-Account") or "")
            if form.get("client_secret") != intent["client_secret"] or not form.get("key", "").startswith("pk_"):
                raise ApiError(401, "secret_invalid", "client secret or publishable key does not match")
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ApiError(400, "payment_intent_unexpected_state", f"status is {intent['status']}")
            number = form.get("payment_method_data", {}).get("card", {}).get("number", "").replace(" ", "")
            if len(number) < 12:
                raise ApiError(402, "incomplete_number", "Your card number is incomplete.", "card_error")
            if number == DECLINED_CARD:
                fail(intent, "Your card was declined.")
                raise ApiError(402, "card_declined", "Your card was declined.", "card_error")
            succeed(intent)
            return public(intent)

    def control(self, path, data):
        """Test controls; returns a body, or a list of events to deliver now."""
        parts = path.strip("/").split("/")
        if parts == ["_test", "config"]:
            for key in ("webhook_url", "webhook_secret", "hold_webhooks", "drop_webhooks", "down"):
                if key in data:
                    STATE[key] = data[key]
            return {"ok": True}
        if parts == ["_test", "flush"]:
            held, STATE["held"] = STATE["held"], []
            return held
        if parts[:2] == ["_test", "events"] and len(parts) == 4 and parts[3] == "deliver":
            return [e for e in STATE["events"] if e["id"] == parts[2]]
        if parts[:2] == ["_test", "accounts"] and len(parts) == 4 and parts[3] == "enable":
            account = STATE["accounts"][parts[2]]
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["requirements"] = requirements([])
            emit("account.updated", account, account["id"])
            return account
        if parts[:2] == ["_test", "refunds"] and len(parts) == 4 and parts[3] == "fail":
            refund = STATE["refunds"][parts[2]]
            refund["status"] = "failed"
            refund["failure_reason"] = data.get("reason", "expired_or_canceled_card")
            emit("refund.updated", refund, STATE["intents"][refund["payment_intent"]]["_account"])
            return refund
        if parts[:2] == ["_test", "payment_intents"] and len(parts) == 4:
            intent = STATE["intents"][parts[2]]
            if parts[3] == "succeed":
                succeed(intent, data.get("amount_received"), data.get("currency"))
            elif parts[3] == "fail":
                fail(intent, data.get("message", "Your card was declined."))
            elif parts[3] == "metadata":
                intent["metadata"] = data
            elif parts[3] == "dispute":
                dispute = {
                    "id": new_id("dp"),
                    "object": "dispute",
                    "amount": intent["amount_received"],
                    "currency": intent["currency"],
                    "payment_intent": intent["id"],
                    "reason": data.get("reason", "fraudulent"),
                    "status": "needs_response",
                }
                emit("charge.dispute.created", dispute, intent["_account"])
            return public(intent)
        raise ApiError(404, "resource_missing", "unknown control")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    args = parser.parse_args()
    STATE["webhook_url"], STATE["webhook_secret"] = args.webhook_url, args.webhook_secret
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
