// End-to-end storefront tests: the real server binary with a seeded demo store, the built
// storefront (frontend/dist), and Debian's Chromium driven by playwright-core. Screenshots of
// each step go to tools/e2e/screenshots/ (gitignored).
//
// Environment: TECHVERSE_BIN (the server binary), CHROMIUM (default /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  shots, freePort, serverEnv, seedDemo, serve, launchChromium, clearShots, newTab, mailedTokenIn,
} from "./harness.mjs";

let server, browser, base, data, owner;

function env(port) {
  return serverEnv(data, port, { TECHVERSE_REQUIRE_VERIFIED_EMAIL: "false" });
}

before(async () => {
  clearShots(["guest", "customer", "refresh", "phone", "fast3g"]);
  data = mkdtempSync(join(tmpdir(), "techverse-e2e-"));
  const port = await freePort();
  owner = seedDemo(env(port));
  ({ child: server, url: base } = await serve(env(port), port));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
});

/// Formats minor units like the server and the storefront do: ₦12,500.00 (the demo store's
/// naira; a currency without a sign in this map would be written `KWD 1.250`).
const SIGNS = { NGN: "₦", USD: "$", EUR: "€", GBP: "£" };
function money({ minor, currency }) {
  const major = Math.floor(minor / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = SIGNS[currency] ?? `${currency} `;
  return `${sign}${major}.${String(minor % 100).padStart(2, "0")}`;
}

async function staffToken() {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(owner),
  });
  assert.equal(login.status, 200);
  return (await login.json()).access_token;
}

async function staffOrders() {
  const list = await fetch(`${base}/api/v1/admin/stores/demo/orders`, {
    headers: { authorization: `Bearer ${await staffToken()}` },
  });
  assert.equal(list.status, 200);
  return (await list.json()).items;
}

function mailedToken(to, page) {
  return mailedTokenIn(data, to, page);
}

function page(name) {
  return newTab(browser, name);
}

/// A demo product with several variants, at least two of them in stock, as the API gives it.
async function productWithVariants() {
  const list = await (await fetch(`${base}/api/v1/stores/demo/products?in_stock=true&limit=50`)).json();
  for (const item of list.items) {
    const detail = await (await fetch(`${base}/api/v1/stores/demo/products/${item.slug}`)).json();
    if (detail.variants.filter((v) => v.in_stock).length > 1) return detail;
  }
  throw new Error("the demo store has no product with two variants in stock");
}

async function addFirstInStockProductToCart(tab) {
  await tab.goto(`${base}/s/demo/products?in_stock=true&sort=price_asc`);
  await tab.locator(".card a").first().click();
  await tab.locator("[data-test=add-to-cart]:not([disabled])").waitFor();
  await tab.locator("[data-test=add-to-cart]").click();
  await tab.getByText("Added to your cart").waitFor();
}

async function fillAddress(tab) {
  await tab.fill("#name", "Ada Obi");
  await tab.fill("#line1", "12 Admiralty Way");
  await tab.fill("#city", "Lagos");
  await tab.fill("#region", "Lagos");
  await tab.locator("input[name=shipping]").first().check();
}

test("a guest searches, filters, picks a variant and checks out with cash on delivery", async () => {
  const tab = await page("guest");
  await tab.goto(`${base}/s/demo/`);
  await tab.locator("h1", { hasText: "TechVerse Demo" }).waitFor();
  await tab.locator(".card").first().waitFor();
  await tab.shot("01-home");

  await tab.fill("#search-box", "phone");
  await tab.press("#search-box", "Enter");
  await tab.waitForURL(/\/s\/demo\/products\?q=phone/);
  await tab.locator(".card").first().waitFor();
  await tab.shot("02-search");

  // A brand facet narrows the list and lands in the URL; reloading renders the same list.
  const brand = tab.locator("fieldset.facet", { hasText: "Brand" }).locator("a").first();
  await brand.click();
  await tab.waitForURL(/brand=/);
  await tab.locator(".card").first().waitFor();
  const filteredUrl = tab.url();
  const before = await tab.locator(".card h3").allTextContents();
  await tab.reload();
  await tab.locator(".card").first().waitFor();
  assert.equal(tab.url(), filteredUrl);
  assert.deepEqual(await tab.locator(".card h3").allTextContents(), before);
  await tab.shot("03-filtered");

  // A product with options: choosing another variant shows that variant's price from the server.
  const product = await productWithVariants();
  await tab.fill("#search-box", product.title);
  await tab.press("#search-box", "Enter");
  await tab.locator(".card h3", { hasText: product.title }).first().click();
  await tab.locator("h1", { hasText: product.title }).waitFor();
  const other = product.variants.find((v) => v.in_stock && v.price.minor !== product.variants[0].price.minor)
    ?? product.variants.find((v) => v.in_stock);
  for (const [index, value] of other.options.entries()) {
    await tab.selectOption(`#option-${index}`, { label: value });
  }
  await tab.locator("[data-test=price]", { hasText: money(other.price) }).waitFor();
  const productUrl = tab.url();
  await tab.reload();
  await tab.locator("h1", { hasText: product.title }).waitFor();
  assert.equal(tab.url(), productUrl, "a deep link reloads the same product");
  for (const [index, value] of other.options.entries()) {
    await tab.selectOption(`#option-${index}`, { label: value });
  }
  await tab.locator("[data-test=price]", { hasText: money(other.price) }).waitFor();
  await tab.shot("04-product");
  await tab.locator("[data-test=add-to-cart]").click();
  await tab.getByText("Added to your cart").waitFor();
  await tab.locator("[data-test=cart-link]").click();
  await tab.locator("[data-test=totals]").waitFor();
  await tab.fill("#discount-code", "welcome10");
  await tab.getByRole("button", { name: "Apply" }).click();
  await tab.getByText("Code WELCOME10 applied").waitFor();
  await tab.shot("05-cart");

  await tab.locator("[data-test=checkout-link]").click();
  await tab.fill("#email", "guest@example.com");
  await fillAddress(tab);
  await tab.locator("[data-test=totals]").waitFor();
  await tab.shot("06-checkout");
  // A double click places one order (one Idempotency-Key per checkout).
  await tab.locator("[data-test=place-order]").dblclick();
  await tab.waitForURL(/\/s\/demo\/orders\//);
  await tab.locator("[data-test=order-status]").waitFor();
  const shownTotal = (await tab.locator("[data-test=total]").textContent()).trim();
  await tab.shot("07-confirmation");

  const orders = await staffOrders();
  assert.equal(orders.length, 1, "one order despite the double click");
  assert.equal(orders[0].email, "guest@example.com");
  assert.equal(money(orders[0].total), shownTotal, "the page shows the server's total");

  // The status page follows the order live: staff mark it paid, the page shows it, no reload.
  await tab.locator("[data-test=live-status]", { hasText: "Live" }).waitFor();
  await tab.locator("[data-test=order-status]", { hasText: "pending payment" }).waitFor();
  const paid = await fetch(`${base}/api/v1/admin/stores/demo/orders/${orders[0].id}/mark-paid`, {
    method: "POST",
    headers: { authorization: `Bearer ${await staffToken()}` },
  });
  assert.equal(paid.status, 200);
  await tab.locator("[data-test=order-status]", { hasText: "payment paid" }).waitFor({ timeout: 5000 });
  await tab.shot("08-paid-live");
  assert.deepEqual(tab.errors, []);
});

test("a customer signs up, checks out, finds the order, signs out, verifies the email and resets the password", async () => {
  const tab = await page("customer");
  await tab.goto(`${base}/s/demo/sign-up`);
  await tab.fill("#name", "Bola Ade");
  await tab.fill("#email", "bola@example.com");
  await tab.fill("#password", "correct horse battery staple");
  await tab.getByRole("button", { name: "Create account" }).click();
  await tab.waitForURL(/\/s\/demo\/account$/);
  await tab.locator("h1", { hasText: "Hello, Bola Ade" }).waitFor();
  // A reload restores the session through the HttpOnly refresh cookie.
  await tab.reload();
  await tab.locator("h1", { hasText: "Hello, Bola Ade" }).waitFor();
  // A saved address fills the checkout form.
  await tab.fill("#address-name", "Bola Ade");
  await tab.fill("#address-line1", "7 Broad Street");
  await tab.fill("#address-city", "Lagos");
  await tab.getByRole("button", { name: "Add address" }).click();
  await tab.getByText("7 Broad Street").waitFor();
  await tab.shot("01-account");

  await addFirstInStockProductToCart(tab);
  await tab.goto(`${base}/s/demo/checkout`);
  assert.equal(await tab.inputValue("#email"), "bola@example.com");
  await tab.locator("#line1[value], #line1").first().waitFor();
  await tab.waitForFunction(() => document.querySelector("#line1")?.value === "7 Broad Street");
  assert.equal(await tab.inputValue("#city"), "Lagos");
  await tab.locator("input[name=shipping]").first().check();
  await tab.locator("#pay-bank_transfer").check();
  await tab.locator("[data-test=totals]").waitFor();
  await tab.locator("[data-test=place-order]").click();
  await tab.waitForURL(/\/s\/demo\/orders\//);
  // The order page's code loads on this first visit: read its heading once it shows.
  await tab.getByText("How to pay").waitFor();
  const heading = (await tab.locator("h1").textContent()).trim();
  await tab.shot("02-confirmation");

  await tab.goto(`${base}/s/demo/account`);
  await tab.locator("[data-test=my-orders]").getByText(heading).waitFor();
  await tab.shot("03-orders");

  // Signing out ends the session for good: a reload does not bring it back.
  await tab.locator("[data-test=sign-out]").click();
  await tab.locator("[data-test=account-link]", { hasText: "Sign in" }).waitFor();
  await tab.reload();
  await tab.locator("[data-test=account-link]", { hasText: "Sign in" }).waitFor();

  // The emailed links land on their pages: verify the address, then reset the password.
  const verify = await mailedToken("bola@example.com", "/s/demo/verify-email");
  await tab.goto(`${base}/s/demo/verify-email?token=${verify}`);
  await tab.getByText("Your email is verified").waitFor();
  await tab.goto(`${base}/s/demo/sign-in`);
  await tab.getByText("Forgot your password?").click();
  await tab.fill("#reset-email", "bola@example.com");
  await tab.getByRole("button", { name: "Email me a reset link" }).click();
  await tab.getByText("a link is on its way").waitFor();
  const reset = await mailedToken("bola@example.com", "/s/demo/reset-password");
  await tab.goto(`${base}/s/demo/reset-password?token=${reset}`);
  await tab.fill("#new-password", "another long passphrase");
  await tab.getByRole("button", { name: "Save password" }).click();
  await tab.getByText("Password changed").waitFor();
  await tab.goto(`${base}/s/demo/sign-in`);
  await tab.fill("#email", "bola@example.com");
  await tab.fill("#password", "another long passphrase");
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.locator("h1", { hasText: "Hello, Bola Ade" }).waitFor();
  await tab.shot("04-signed-in-again");
  assert.deepEqual(tab.errors, []);
});

/// A second server on the same data, whose access tokens expire after one second.
async function shortLivedServer() {
  const port = await freePort();
  return serve({ ...env(port), TECHVERSE_ACCESS_TOKEN_TTL_SECS: "1" }, port);
}

test("requests that find the access token expired refresh once, and two tabs refreshing together stay signed in", async () => {
  const short = await shortLivedServer();
  try {
    const tab = await page("refresh");
    await tab.goto(`${short.url}/s/demo/sign-up`);
    await tab.fill("#name", "Cara Eze");
    await tab.fill("#email", "cara@example.com");
    await tab.fill("#password", "correct horse battery staple");
    await tab.getByRole("button", { name: "Create account" }).click();
    await tab.locator("h1", { hasText: "Hello, Cara Eze" }).waitFor();
    await tab.locator("a.brand").click();
    await tab.locator(".card").first().waitFor();
    // One second of token life plus the server's five seconds of clock leeway.
    await new Promise((r) => setTimeout(r, 7_000));

    // The account page loads orders, addresses and the wishlist at once; each finds the access
    // token expired, and they share one refresh.
    const refreshes = [];
    tab.on("request", (r) => r.url().includes("/auth/refresh") && refreshes.push(r.url()));
    await tab.locator("[data-test=account-link]").click();
    await tab.locator("h1", { hasText: "Hello, Cara Eze" }).waitFor();
    await tab.getByText("No orders yet.").waitFor();
    await tab.getByText("No saved addresses.").waitFor();
    await tab.getByText("Nothing saved yet.").waitFor();
    assert.equal(refreshes.length, 1, `one refresh for every request at once: ${refreshes}`);
    await tab.shot("01-after-expiry");

    // Two tabs of one browser restore the session from the same cookie at the same moment.
    const second = await tab.context().newPage();
    await Promise.all([tab.reload(), second.goto(`${short.url}/s/demo/account`)]);
    await tab.locator("h1", { hasText: "Hello, Cara Eze" }).waitFor();
    await second.locator("h1", { hasText: "Hello, Cara Eze" }).waitFor();
    await tab.reload();
    await tab.locator("h1", { hasText: "Hello, Cara Eze" }).waitFor();
    await tab.shot("02-two-tabs");
    assert.deepEqual(tab.errors, []);
  } finally {
    short.child.kill("SIGTERM");
  }
});

test("unknown API paths stay JSON and assets are cached as immutable", async () => {
  const api = await fetch(`${base}/api/v1/nothing-here`);
  assert.equal(api.status, 404);
  assert.equal((await api.json()).error.code, "not_found");
  const index = await fetch(`${base}/s/demo/products/some-deep-link`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const html = await index.text();
  const wasm = html.match(/\/assets\/[^"]+\.wasm/)[0];
  const asset = await fetch(`${base}${wasm}`);
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get("content-type"), "application/wasm");
  assert.match(asset.headers.get("cache-control"), /immutable/);
});

test("the storefront fits a 360 px phone and starts with a skip link for keyboards", async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true });
  const tab = await context.newPage();
  for (const [step, path, ready] of [
    ["01-home", "/s/demo/", ".card"],
    ["02-listing", "/s/demo/products?sort=price_desc", ".card"],
    ["03-product", "/s/demo/products?q=macbook", ".card"],
  ]) {
    await tab.goto(`${base}${path}`);
    await tab.locator(ready).first().waitFor();
    const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px`);
    await tab.screenshot({ path: join(shots, `phone-${step}.png`), fullPage: true });
  }
  await tab.keyboard.press("Tab");
  assert.equal(await tab.evaluate(() => document.activeElement.textContent), "Skip to content");
  const unlabelled = await tab.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.type !== "hidden" && !el.labels?.length && !el.getAttribute("aria-label"))
      .map((el) => el.id || el.name),
  );
  assert.deepEqual(unlabelled, [], "every form field has a label");
  const noAlt = await tab.evaluate(() => [...document.images].filter((img) => !img.hasAttribute("alt")).length);
  assert.equal(noAlt, 0, "every image has alt text");
  await context.close();
});

test("the first product grid on Chromium's emulated Fast 3G (a figure, not a limit)", async () => {
  const tab = await page("fast3g");
  const cdp = await tab.context().newCDPSession(tab);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  // 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip.
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: 1_600_000 / 8,
    uploadThroughput: 750_000 / 8,
  });
  const sent = [];
  tab.on("response", async (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith("/assets/")) sent.push([path, response.headers()["content-encoding"] ?? "identity"]);
  });
  // When the first card enters the page, and the frame after it is painted, by the page's clock
  // (from the navigation's start); the test's own wait adds its polling delay on top.
  await tab.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (!document.querySelector(".card")) return;
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => (window.__gridPainted = performance.now())));
    }).observe(document, { childList: true, subtree: true });
  });
  const started = Date.now();
  await tab.goto(`${base}/s/demo/products`);
  await tab.locator(".card").first().waitFor({ timeout: 30_000 });
  const elapsed = Date.now() - started;
  await tab.waitForFunction(() => window.__gridPainted !== undefined);
  const painted = Math.round(await tab.evaluate(() => window.__gridPainted));
  // Where the time goes: the document, then the wasm's last byte (the bytes at 200 KB/s).
  const [documentAt, wasmAt] = await tab.evaluate(() => [
    performance.getEntriesByType("navigation")[0].responseEnd,
    performance.getEntriesByType("resource").find((e) => e.name.endsWith(".wasm"))?.responseEnd,
  ]);
  const wasm = sent.filter(([path]) => path.endsWith(".wasm"));
  console.log(`# Fast 3G: first product grid painted ${painted} ms after navigation (seen by the test after ${elapsed} ms); wasm sent as ${wasm[0]?.[1]}`);
  console.log(`# Fast 3G: document in at ${Math.round(documentAt)} ms, wasm's last byte at ${Math.round(wasmAt)} ms, grid painted ${Math.round(painted - wasmAt)} ms after it`);
  // Every response before the grid, with its bytes on the wire (headers included): at 200 KB/s
  // the sum, after the document's and the assets' round trips, is the floor the bytes set.
  const responses = await tab.evaluate(() =>
    [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
      .filter((e) => e.responseEnd <= window.__gridPainted)
      .map((e) => [new URL(e.name).pathname, Math.round(e.startTime), Math.round(e.responseEnd), e.transferSize]),
  );
  for (const [path, start, end, bytes] of responses) {
    console.log(`# Fast 3G:   ${String(bytes).padStart(7)} B  ${String(start).padStart(5)}-${String(end).padStart(5)} ms  ${path}`);
  }
  const bytes = responses.reduce((sum, [, , , size]) => sum + size, 0);
  console.log(`# Fast 3G: ${bytes} B before the grid, ${Math.round(bytes / 200)} ms of the 200 KB/s link`);
  assert.equal(wasm[0]?.[1], "br", "the wasm goes out precompressed");
  // The session restore and the cart load are lazy functions whose chunks come after the grid.
  const before = responses.map(([path]) => path).filter((path) => path.endsWith(".wasm"));
  assert.deepEqual(before.map((path) => path.split("/").pop()), ["techverse_bg.wasm"], "the grid waits for no lazy chunk");
  await tab.shot("01-grid");
  assert.deepEqual(tab.errors, []);
});
