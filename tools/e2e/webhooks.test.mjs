// End-to-end test of the console's webhook pages: the demo store's owner adds an endpoint
// (its signing secret shown once), an order makes a delivery the receiver first refuses, the
// delivery log shows the failed attempt, a manual retry delivers it with the same webhook-id,
// the secret is rotated and the endpoint paused. Screenshots: tools/e2e/screenshots/webhooks-*.
//
// The server runs with http:// and loopback targets allowed (never in production) so the
// receiver can be a plain HTTP server of this test.
//
// Environment: TECHVERSE_BIN (the server binary), CHROMIUM (default /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, serverEnv, seedDemo, serve, launchChromium, clearShots, newTab } from "./harness.mjs";

let server, browser, base, data, owner, receiver, receiverUrl;
/// What the receiver was sent, and whether it answers 503 (true) or 204.
const received = [];
let refusing = true;

before(async () => {
  clearShots(["webhooks"]);
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ id: request.headers["webhook-id"], signature: request.headers["webhook-signature"], body });
      response.writeHead(refusing ? 503 : 204).end();
    });
  });
  await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  data = mkdtempSync(join(tmpdir(), "techverse-e2e-webhooks-"));
  const port = await freePort();
  const env = serverEnv(data, port, {
    TECHVERSE_WEBHOOKS_ALLOW_INSECURE: "true",
    TECHVERSE_WEBHOOKS_ALLOW_PRIVATE_TARGETS: "true",
    // One automatic retry an hour away: only the member's retry sends it again in this test.
    TECHVERSE_WEBHOOKS_RETRY_SCHEDULE: "1h",
  });
  owner = seedDemo(env);
  ({ child: server, url: base } = await serve(env, port));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  receiver?.close();
  rmSync(data, { recursive: true, force: true });
});

async function api(method, path, body, headers = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// A guest's cash-on-delivery pickup order of the demo store's cheapest product in stock.
async function placeOrder() {
  const page = await api("GET", "/api/v1/stores/demo/products?in_stock=true&sort=price_asc");
  const detail = await api("GET", `/api/v1/stores/demo/products/${page.items[0].slug}`);
  const variant = detail.variants.find((v) => v.in_stock);
  const cart = await api("POST", "/api/v1/stores/demo/carts");
  const token = { "X-Cart-Token": cart.token };
  await api("POST", `/api/v1/stores/demo/carts/${cart.id}/lines`, { variant_id: variant.id, quantity: 1 }, token);
  const methods = await api("GET", `/api/v1/stores/demo/carts/${cart.id}/shipping-methods?country=NG`, undefined, token);
  return api("POST", "/api/v1/stores/demo/checkout", {
    cart_id: cart.id,
    email: "ada@example.com",
    shipping_address: { name: "Ada Obi", line1: "12 Admiralty Way", city: "Lagos", region: "Lagos", country: "NG", phone: "+2348012345678" },
    shipping_method_id: methods[methods.length - 1].id,
    payment_method: "cash_on_delivery",
  }, { ...token, "Idempotency-Key": crypto.randomUUID() });
}

/// Clicks the log's Refresh until `selector` shows (deliveries are sent in the background).
async function refreshUntil(tab, selector) {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await tab.locator(selector).count()) return;
    await tab.getByRole("button", { name: "Refresh" }).click();
    await tab.waitForTimeout(200);
  }
  throw new Error(`${selector} never showed`);
}

test("a member follows an endpoint's deliveries, retries a refused one, rotates its secret and pauses it", async () => {
  const tab = await newTab(browser, "webhooks");
  tab.on("dialog", (dialog) => dialog.accept());
  await tab.goto(`${base}/admin/sign-in`);
  await tab.fill("#email", owner.email);
  await tab.fill("#password", owner.password);
  await tab.locator("[data-test=sign-in]").click();
  await tab.locator("[data-test=gross-sales]").waitFor();
  await tab.goto(`${base}/admin/settings/webhooks`);
  await tab.getByText("No endpoints yet.").waitFor();
  await tab.fill("#webhook-url", receiverUrl);
  await tab.fill("#webhook-events", "order.created");
  await tab.locator("[data-test=create-webhook]").click();
  const first = (await tab.locator("[data-test=webhook-secret] code").textContent()).trim();
  assert.match(first, /^whsec_/);
  await tab.shot("00-endpoints");
  await tab.locator("[data-test=webhook] a").click();
  await tab.locator("[data-test=webhook-state]", { hasText: "active" }).waitFor();
  await tab.getByText("Nothing delivered yet.").waitFor();

  await placeOrder();
  await refreshUntil(tab, "[data-test=delivery][data-state=pending]");
  const row = tab.locator("[data-test=delivery]").first();
  await row.getByText("1 attempt(s)").click();
  await row.getByText("HTTP 503").waitFor();
  await row.getByText("pending, next attempt").waitFor();
  await tab.shot("01-delivery-refused");

  refusing = false;
  await row.getByRole("button", { name: "Retry now" }).click();
  await refreshUntil(tab, "[data-test=delivery][data-state=succeeded]");
  assert.equal(received.length, 2, "one refused attempt, one manual retry");
  assert.equal(received[0].id, received[1].id, "a retry keeps the webhook-id");
  assert.equal(JSON.parse(received[1].body).type, "order.created");
  await tab.locator("[data-test=delivery]").first().getByText("2 attempt(s)").click();
  await tab.shot("02-delivery-retried");

  await tab.locator("[data-test=rotate-secret]").click();
  await tab.locator("[data-test=webhook-secret] code").waitFor();
  const second = (await tab.locator("[data-test=webhook-secret] code").textContent()).trim();
  assert.match(second, /^whsec_/);
  assert.notEqual(second, first);
  await tab.locator("[data-test=toggle-webhook]", { hasText: "Pause deliveries" }).click();
  await tab.locator("[data-test=webhook-state]", { hasText: "paused" }).waitFor();
  await tab.locator("[data-test=toggle-webhook]", { hasText: "Resume deliveries" }).waitFor();
  await tab.shot("03-paused");
  assert.deepEqual(tab.errors, []);
});
