// End-to-end card payment: the real server binary wired to the local Stripe fake
// (tools/stripe-fake: API, Stripe.js and signed webhooks), the built storefront and Debian's
// Chromium. A shopper checks out by card, types the card into Stripe's frame (never our page),
// confirms, sees "payment processing" until the webhook marks the order paid; staff see the
// PaymentIntent. Screenshots go to tools/e2e/screenshots/card-*.png.
//
// Environment: TECHVERSE_BIN, CHROMIUM, TECHVERSE_TEST_PYTHON (a Python with the stripe package).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import {
  repo, freePort, serverEnv, seedDemo, serve, launchChromium, clearShots, newTab,
} from "./harness.mjs";

let server, fake, fakeUrl, browser, base, data, owner, access;
const secret = `whsec_${randomBytes(16).toString("hex")}`;

function startFake() {
  const python = process.env.TECHVERSE_TEST_PYTHON || "python3";
  fake = spawn(python, [join(repo, "tools", "stripe-fake", "stripe_fake.py"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: fake.stdout });
    lines.once("line", (line) => {
      const url = line.replace("listening on ", "").trim();
      url.startsWith("http") ? ok(url) : fail(new Error(`the Stripe fake said ${line}`));
    });
    fake.once("exit", (code) => fail(new Error(`the Stripe fake exited with ${code}`)));
  });
}

async function control(path, body = {}) {
  const response = await fetch(`${fakeUrl}/_test/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `fake control ${path}`);
  return response.json();
}

function env(port) {
  return serverEnv(data, port, {
    TECHVERSE_STRIPE_SECRET_KEY: "sk_test_e2e",
    TECHVERSE_STRIPE_PUBLISHABLE_KEY: "pk_test_e2e",
    TECHVERSE_STRIPE_WEBHOOK_SECRETS: secret,
    TECHVERSE_STRIPE_API_BASE: fakeUrl,
    TECHVERSE_STRIPE_JS_URL: `${fakeUrl}/v3/`,
  });
}

async function staff(method, path, body) {
  const response = await fetch(`${base}/api/v1/admin/stores/demo${path}`, {
    method,
    headers: { authorization: `Bearer ${access}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${method} ${path}`);
  return response.json();
}

before(async () => {
  clearShots(["card"]);
  data = mkdtempSync(join(tmpdir(), "techverse-e2e-card-"));
  fakeUrl = await startFake();
  const port = await freePort();
  owner = seedDemo(env(port));
  ({ child: server, url: base } = await serve(env(port), port));
  await control("config", { webhook_url: `${base}/api/v1/payments/stripe/webhook`, webhook_secret: secret });
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(owner),
  });
  access = (await login.json()).access_token;
  // The merchant connects Stripe; Stripe reports the account ready (account.updated).
  const onboarding = await staff("POST", "/payments/stripe/onboarding");
  await control(`accounts/${onboarding.account_id}/enable`);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  fake?.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
});

test("a shopper pays by card through Stripe.js and the webhook marks the order paid", async () => {
  const tab = await newTab(browser, "card");
  const cardRequests = [];
  tab.on("request", (r) => r.postData()?.includes("4242") && cardRequests.push(new URL(r.url()).origin));

  await tab.goto(`${base}/s/demo/products?in_stock=true&sort=price_asc`);
  await tab.locator(".card a").first().click();
  await tab.locator("[data-test=add-to-cart]:not([disabled])").waitFor();
  await tab.locator("[data-test=add-to-cart]").click();
  await tab.getByText("Added to your cart").waitFor();
  await tab.goto(`${base}/s/demo/checkout`);
  await tab.fill("#email", "card@example.com");
  await tab.fill("#name", "Ada Obi");
  await tab.fill("#line1", "12 Admiralty Way");
  await tab.fill("#city", "Lagos");
  await tab.fill("#region", "Lagos");
  await tab.locator("input[name=shipping]").first().check();
  await tab.locator("#pay-card").check();
  await tab.locator("[data-test=totals]").waitFor();
  await tab.shot("01-checkout");
  await tab.locator("[data-test=place-order]").click();
  await tab.waitForURL(/\/s\/demo\/orders\//);

  // Stripe's card field, in Stripe's frame.
  await tab.locator("[data-test=payment-element] iframe").waitFor();
  const card = tab.frameLocator("[data-test=payment-element] iframe").locator("#cardnumber");
  await tab.locator("[data-test=pay]:not([disabled])").waitFor();
  await card.fill("4000 0000 0000 0002");
  await tab.locator("[data-test=pay]").click();
  await tab.locator("[data-test=payment-error]", { hasText: "declined" }).waitFor();
  await tab.shot("02-declined");
  // Stripe's webhook is held back: the page says "processing" until it arrives, then shows the
  // order paid by itself (the live feed, or polling).
  await control("config", { hold_webhooks: true });
  await card.fill("4242 4242 4242 4242");
  await tab.locator("[data-test=pay]:not([disabled])").click();
  await tab.locator("[data-test=payment-processing]").waitFor();
  await tab.shot("03-processing");
  await control("config", { hold_webhooks: false });
  await control("flush");
  await tab.locator("[data-test=order-status]", { hasText: "payment paid" }).waitFor({ timeout: 30_000 });
  await tab.shot("04-paid");

  const orderId = tab.url().match(/orders\/([0-9a-f-]{36})/)[1];
  const order = await staff("GET", `/orders/${orderId}`);
  assert.equal(order.status, "paid");
  assert.equal(order.payment_status, "paid");
  assert.match(order.payment.intent_id, /^pi_/);
  assert.equal(order.payment.status, "succeeded");
  assert.ok(order.notes.some((n) => n.text.includes("declined")), "the declined try is in the history");
  // The card number went to Stripe's origin only.
  assert.deepEqual([...new Set(cardRequests)], [new URL(fakeUrl).origin]);
  assert.deepEqual(tab.errors, []);
});
