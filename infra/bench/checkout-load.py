"""Checkouts beside the catalogue benchmark: THREADS guest buyers each loop (new cart, one unit
of an in-stock product, checkout with cash on delivery and pickup) at RATE checkouts a second
in all until SECONDS have passed, then print how many orders were placed. The products bought
are restocked first (as the store's OWNER:PASSWORD), so sales never sell one out: what is
measured is sales that leave every list unchanged. Standard library only.

usage: checkout-load.py BASE_URL STORE SECONDS THREADS RATE OWNER PASSWORD
"""

import json
import sys
import threading
import time
import urllib.error
import urllib.request

base, store, seconds, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
rate, owner, password = float(sys.argv[5]), sys.argv[6], sys.argv[7]
api = f"{base}/api/v1/stores/{store}"


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(
        f"{api}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def staff(method, path, body, token):
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# Ten in-stock products, restocked well beyond what the load can sell, and the pickup method.
token = staff("POST", "/api/v1/auth/login", {"email": owner, "password": password}, None)["access_token"]
_, page = call("GET", "/products?in_stock=true&sort=newest&limit=10")
variants = []
for item in page["items"]:
    _, detail = call("GET", f"/products/{item['slug']}")
    for variant in detail["variants"]:
        path = f"/api/v1/admin/stores/{store}/products/{item['id']}/variants/{variant['id']}/stock"
        staff("POST", path, {"delta": 1_000_000, "reason": "benchmark"}, token)
        variants.append(variant["id"])
_, cart = call("POST", "/carts")
token = {"X-Cart-Token": cart["token"]}
call("POST", f"/carts/{cart['id']}/lines", {"variant_id": variants[0], "quantity": 1}, token)
_, methods = call("GET", f"/carts/{cart['id']}/shipping-methods?country=NG", None, token)
pickup = next(m for m in methods if m["kind"] == "pickup")["id"]

placed, failed, lock = [0], {}, threading.Lock()
deadline = time.monotonic() + seconds


def buyer(n):
    i = 0
    start = time.monotonic()
    while time.monotonic() < deadline:
        i += 1
        # Paced: this buyer's share of RATE checkouts a second.
        wait = start + i * threads / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        status, cart = call("POST", "/carts")
        token = {"X-Cart-Token": cart["token"]}
        variant = variants[(n * 7919 + i) % len(variants)]
        call("POST", f"/carts/{cart['id']}/lines", {"variant_id": variant, "quantity": 1}, token)
        body = {
            "cart_id": cart["id"],
            "email": f"load-{n}-{i}@example.com",
            "shipping_address": {"name": "Ada Obi", "line1": "1 Marina", "city": "Lagos", "country": "NG"},
            "shipping_method_id": pickup,
            "payment_method": "cash_on_delivery",
        }
        status, _ = call("POST", "/checkout", body, {**token, "Idempotency-Key": f"load-{n}-{i}"})
        with lock:
            if status == 201:
                placed[0] += 1
            else:
                failed[status] = failed.get(status, 0) + 1


workers = [threading.Thread(target=buyer, args=(n,)) for n in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
refused = ", ".join(f"{n} × {status}" for status, n in sorted(failed.items())) or "none"
print(f"checkouts beside it: {placed[0]} placed ({placed[0] / seconds:.0f}/s); refused: {refused}")
