// End-to-end merchant console tests: a merchant opens a store in the console, a shopper orders
// from it in another browser context, and the merchant's open dashboard shows the order live;
// the merchant then pays, fulfils, ships and partly refunds it; a member whose custom role
// lacks orders.refund is offered no refund (and the API refuses it). Screenshots of each page
// go to tools/e2e/screenshots/admin-*.png (gitignored).
//
// Environment: TECHVERSE_BIN (the server binary), CHROMIUM (default /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort, serverEnv, serve, launchChromium, clearShots, newTab, mailedTokenIn,
} from "./harness.mjs";

let server, browser, base, data;
const merchant = { name: "Ngozi Eze", email: "ngozi@example.com", password: "correct horse battery staple" };
const slug = "ngozi-gadgets";

before(async () => {
  clearShots(["admin", "shopper", "clerk"]);
  data = mkdtempSync(join(tmpdir(), "techverse-e2e-admin-"));
  const port = await freePort();
  const env = serverEnv(data, port, { TECHVERSE_REQUIRE_VERIFIED_EMAIL: "false" });
  ({ child: server, url: base } = await serve(env, port));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
});

async function api(method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/// Polls `check` (every 100 ms, up to 10 s) until it returns something truthy.
async function until(check) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never true: ${check}`);
}

async function login(email, password) {
  const { status, body } = await api("POST", "/api/v1/auth/login", null, { email, password });
  assert.equal(status, 200);
  return body.access_token;
}

const admin = (rest) => `/api/v1/admin/stores/${slug}${rest}`;

/// The store's checkout: Nigeria, store pickup, cash on delivery.
async function openCheckout(token) {
  const settings = await api("PUT", admin("/checkout-settings"), token, {
    prices_include_tax: true,
    payment_methods: ["cash_on_delivery"],
    reservation_minutes: 30,
    zones: [{ name: "Nigeria", countries: ["NG"], tax_bps: 0, methods: [{ name: "Store pickup", rate: { type: "pickup" } }] }],
  });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
}

/// A 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/// A Shopify-layout CSV of `count` products; row `bad` (1-based data row) has no title.
function generatedCsv(count, bad) {
  const rows = ["Handle,Title,Status,Variant SKU,Variant Price,Variant Inventory Qty"];
  for (let n = 1; n <= count; n++) {
    rows.push(`accessory-${n},${n === bad ? "" : `Accessory ${n}`},active,ACC-${n},${1000 + n}.00,${10 + (n % 5)}`);
  }
  return Buffer.from(rows.join("\n") + "\n");
}

/// The merchant imports a file with a bad row (told where), then 200 products with progress.
async function importProducts(tab) {
  await tab.setInputFiles("#import-file", { name: "bad.csv", mimeType: "text/csv", buffer: generatedCsv(20, 7) });
  await tab.locator("[data-test=import-row-error]", { hasText: "row 8, column Title" }).waitFor();
  await tab.shot("04-import-refused");
  const seen = [];
  const watch = setInterval(async () => {
    const text = await tab.locator("[data-test=import-percent]").textContent().catch(() => null);
    if (text) seen.push(text);
  }, 50);
  await tab.setInputFiles("#import-file", { name: "accessories.csv", mimeType: "text/csv", buffer: generatedCsv(200) });
  await tab.locator("[data-test=import-done]", { hasText: "200 new" }).waitFor();
  clearInterval(watch);
  await tab.locator("[data-test=import-percent]", { hasText: "100 %" }).waitFor();
  console.log(`# import progress seen: ${[...new Set(seen)].join(", ")}`);
  await tab.shot("04-import-done");
}

/// The merchant creates a phone in two colours with an uploaded image, in the console.
async function createProduct(tab) {
  await tab.getByRole("link", { name: "Products" }).click();
  await tab.getByText("No products yet.").waitFor();
  await tab.locator("[data-test=new-product]").click();
  await tab.fill("#title", "Ngozi Phone");
  await tab.fill("#description", "A **fast** phone.");
  await tab.fill("#option-name-0", "Colour");
  await tab.fill("#sku-0", "NG-BLK");
  await tab.fill("#option-0-0", "Black");
  await tab.fill("#price-0", "1,450,000.00");
  await tab.fill("#stock-0", "5");
  await tab.locator("[data-test=add-variant]").click();
  await tab.fill("#sku-1", "NG-BLU");
  await tab.fill("#option-0-1", "Blue");
  await tab.fill("#price-1", "1,500,000");
  await tab.fill("#compare-at-1", "1,600,000");
  await tab.fill("#stock-1", "5");
  await tab.setInputFiles("#image-file", { name: "phone.png", mimeType: "image/png", buffer: PNG });
  await tab.locator("[data-test=uploaded-image]").waitFor();
  await tab.fill("#alt-0", "The phone, front");
  await tab.shot("03-new-product");
  await tab.locator("[data-test=save-product]").click();
  await tab.locator("[data-test=product-row]", { hasText: "Ngozi Phone" }).waitFor();
  await tab.shot("04-products");
  await importProducts(tab);
}

test("a merchant's console shows a shopper's order live, then pays, fulfils, ships and refunds it", async () => {
  const tab = await newTab(browser, "admin");
  tab.on("dialog", (dialog) => dialog.accept());
  await tab.goto(`${base}/admin/`);
  await tab.waitForURL(/\/admin\/sign-in/);
  await tab.shot("00-sign-in");
  await tab.getByRole("link", { name: "Open a new store" }).click();
  await tab.fill("#name", merchant.name);
  await tab.fill("#email", merchant.email);
  await tab.fill("#password", "short");
  await tab.fill("#store-name", "Ngozi Gadgets");
  await tab.fill("#store-slug", slug);
  await tab.locator("[data-test=sign-up]").click();
  // A refused field is shown under that field.
  await tab.locator(".field-error").first().waitFor();
  await tab.shot("01-sign-up-error");
  await tab.fill("#password", merchant.password);
  await tab.locator("[data-test=sign-up]").click();
  await tab.locator("[data-test=dashboard-empty]").waitFor();
  await tab.locator("[data-test=gross-sales]", { hasText: "₦0.00" }).waitFor();
  await tab.locator("[data-test=connection][data-connected=true]").waitFor({ timeout: 10_000 });
  await tab.shot("02-empty-dashboard");

  // The mailed link verifies the address, in the console.
  const verification = await mailedTokenIn(data, merchant.email, "/admin/verify-email");
  await tab.goto(`${base}/admin/verify-email?token=${verification}`);
  await tab.locator("[data-test=verified]").waitFor();
  await tab.shot("02-email-verified");
  await tab.goto(`${base}/admin/`);
  await tab.locator("[data-test=connection][data-connected=true]").waitFor({ timeout: 10_000 });

  const token = await login(merchant.email, merchant.password);
  await openCheckout(token);
  await createProduct(tab);
  const listed = await api("GET", admin("/products?q=ngozi"), token);
  const product = listed.body.items[0];
  assert.equal((await api("GET", admin("/products?limit=1"), token)).body.total, 201);
  assert.equal(product.variants.length, 2);
  assert.equal(product.images[0].alt, "The phone, front");

  // Edit it: the description with its live preview, SEO title, the blue variant's price, a
  // red variant added then removed, and 3 more black ones in stock (with why).
  await tab.goto(`${base}/admin/products/${product.id}`);
  await tab.locator("h1", { hasText: "Edit Ngozi Phone" }).waitFor();
  await tab.locator("[data-test=description-preview] strong", { hasText: "fast" }).waitFor();
  await tab.fill("#description", "A **fast** phone in _three_ colours.");
  await tab.locator("[data-test=description-preview] em", { hasText: "three" }).waitFor();
  await tab.fill("#seo-title", "Ngozi Phone, fast and bright");
  await tab.fill("#price-1", "1,550,000");
  await tab.locator("[data-test=add-variant]").click();
  await tab.fill("#sku-2", "NG-RED");
  await tab.fill("#option-0-2", "Red");
  await tab.fill("#price-2", "1,400,000");
  await tab.fill("#stock-2", "2");
  await tab.locator("[data-test=add-spec]").click();
  await tab.locator("[data-test=spec-row] input").nth(0).fill("Display");
  await tab.locator("[data-test=spec-row] input").nth(1).fill("Screen");
  await tab.locator("[data-test=spec-row] input").nth(2).fill('6.1" OLED');
  await tab.locator("[data-test=spec-row] input[type=checkbox]").check();
  await tab.locator("[data-test=save-product]").click();
  await tab.locator("[data-test=saved]").waitFor();
  const withRed = await until(async () => {
    const body = (await api("GET", admin(`/products/${product.id}`), token)).body;
    return body.variants.length === 3 && body;
  });
  assert.deepEqual(withRed.options, [{ name: "Colour", values: ["Black", "Blue", "Red"] }]);
  assert.deepEqual(withRed.variants.map((v) => [v.sku, v.options[0], v.price, v.stock_on_hand]), [
    ["NG-BLK", "Black", 145_000_000, 5], ["NG-BLU", "Blue", 155_000_000, 5], ["NG-RED", "Red", 140_000_000, 2],
  ]);
  assert.equal(withRed.description_html.includes("<em>three</em>"), true);
  assert.deepEqual(withRed.specs, [{ name: "Display", specs: [{ key: "Screen", value: '6.1" OLED', filterable: true }] }]);
  await tab.locator("[data-test=stock-row]").nth(2).waitFor();
  await tab.locator("[data-test=variant-row]").nth(2).locator("[data-test^=remove-variant]").click();
  assert.equal(await tab.locator("[data-test=variant-row]").count(), 2);
  await tab.locator("[data-test=save-product]").click();
  await until(async () => (await api("GET", admin(`/products/${product.id}`), token)).body.variants.length === 2);
  await tab.fill("#delta-0", "3");
  await tab.fill("#reason-0", "restock from supplier");
  await tab.locator("[data-test=adjust-0]").click();
  await tab.locator("[data-test=stock-row] [data-test=on-hand]", { hasText: "8" }).first().waitFor();
  await tab.shot("04-edit-product");
  const edited = (await api("GET", admin(`/products/${product.id}`), token)).body;
  assert.equal(edited.seo_title, "Ngozi Phone, fast and bright");
  assert.deepEqual(edited.variants.map((v) => [v.sku, v.price, v.stock_on_hand]), [["NG-BLK", 145_000_000, 8], ["NG-BLU", 155_000_000, 5]]);
  assert.equal(edited.images[0].alt, "The phone, front", "what the page does not show is kept");
  await tab.getByRole("link", { name: "TechVerse Admin" }).click();
  await tab.locator("[data-test=connection][data-connected=true]").waitFor({ timeout: 10_000 });

  // A shopper in another browser context; no console asset is ever requested by the shop.
  const shop = await newTab(browser, "shopper");
  const requested = [];
  shop.on("request", (r) => requested.push(new URL(r.url()).pathname));
  await shop.goto(`${base}/s/${slug}/products/${product.slug}`);
  await shop.locator("h1", { hasText: "Ngozi Phone" }).waitFor();
  await shop.locator("[data-test=no-reviews]").waitFor();
  await shop.locator("[data-test=price]", { hasText: "₦1,450,000.00" }).waitFor();
  await shop.locator(`img[src="${product.images[0].url}"]`).first().waitFor();
  await shop.locator("[data-test=add-to-cart]:not([disabled])").click();
  await shop.getByText("Added to your cart").waitFor();
  await shop.locator("[data-test=cart-link]").click();
  await shop.locator("[data-test=checkout-link]").click();
  await shop.fill("#email", "buyer@example.com");
  await shop.fill("#name", "Ada Obi");
  await shop.fill("#line1", "12 Admiralty Way");
  await shop.fill("#city", "Lagos");
  await shop.fill("#region", "Lagos");
  await shop.locator("input[name=shipping]").first().check();
  await shop.locator("[data-test=totals]").waitFor();
  await shop.locator("[data-test=place-order]").click();
  await shop.waitForURL(new RegExp(`/s/${slug}/orders/`));
  const placedAt = Date.now();
  await shop.shot("01-placed");
  assert.deepEqual(requested.filter((p) => p.startsWith("/admin")), [], "the shop never loads the console");

  // The merchant's dashboard, never reloaded, shows it.
  // (The time is printed as a figure; the wait is only a generous bound for a stuck feed.)
  await tab.locator("[data-test=feed-item]", { hasText: "New order" }).waitFor({ timeout: 10_000 });
  await tab.locator("[data-test=orders-count]", { hasText: "1" }).waitFor({ timeout: 10_000 });
  const seen = Date.now() - placedAt;
  console.log(`# the order reached the open dashboard ${seen} ms after the shopper saw it placed`);
  await tab.shot("05-live-order");

  // Orders list, then the order: only what the machine allows is offered.
  await tab.getByRole("link", { name: "Orders" }).click();
  await tab.locator("[data-test=order-row]").first().waitFor();
  await tab.shot("06-orders");
  await tab.locator("[data-test=order-row] a").first().click();
  await tab.locator("[data-test=order][data-status=pending_payment]").waitFor();
  assert.equal(await tab.locator("[data-test=action-ship]").count(), 0, "no shipping before payment");
  assert.equal(await tab.locator("[data-test=action-refunds]").count(), 0, "nothing to refund yet");
  await tab.shot("07-order-pending");
  await tab.locator("[data-test=action-mark-paid]").click();
  await tab.locator("[data-test=order][data-status=paid]").waitFor();
  await tab.fill("#carrier", "GIG Logistics");
  await tab.fill("#tracking", "GIG-123456");
  await tab.locator("[data-test=action-fulfilments]").click();
  await tab.locator("[data-test=order][data-status=fulfilled]").waitFor();
  await tab.locator("[data-test=action-ship]").click();
  await tab.locator("[data-test=order][data-status=shipped]").waitFor();
  await tab.fill("#refund-amount", "50,000.00");
  await tab.fill("#restock-0", "1");
  await tab.fill("#refund-reason", "Scratched screen, back to stock");
  await tab.locator("[data-test=action-refunds]").click();
  await tab.locator("[data-test=order-refunded]", { hasText: "₦50,000.00" }).waitFor();
  const refunded = (await api("GET", admin(`/orders/${tab.url().split("/").pop()}`), token)).body;
  assert.deepEqual(refunded.refunds.map((r) => [r.amount.minor, r.reason, r.restocked.map((l) => l.quantity)]), [[5_000_000, "Scratched screen, back to stock", [1]]]);
  await tab.fill("#note", "Buyer asked for gift wrapping.");
  await tab.getByRole("button", { name: "Add note" }).click();
  await tab.getByText("Buyer asked for gift wrapping.", { exact: false }).first().waitFor();
  await tab.shot("08-order-refunded");
  // The audit log, filtered by action and by who, keeps its filters in the URL.
  await tab.goto(`${base}/admin/audit-log`);
  await tab.fill("#action", "order.refunded");
  await tab.locator("#actor").selectOption({ label: `${merchant.name} (${merchant.email})` });
  await tab.locator("[data-test=filter-audit]").click();
  await tab.waitForURL(/action=order.refunded/);
  await tab.locator("[data-test=audit] tbody tr").first().waitFor();
  const actions = await tab.locator("[data-test=audit] tbody tr td:nth-child(3)").allTextContents();
  assert.deepEqual(actions, ["order.refunded"]);
  await tab.shot("08-audit-log");
  // The list's filters live in the URL: a reload or a shared link shows the same orders.
  await tab.goto(`${base}/admin/orders?payment_status=partially_refunded`);
  await tab.locator("[data-test=order-row]").first().waitFor();
  assert.equal(await tab.locator("[data-test=order-row]").count(), 1);
  await tab.goto(`${base}/admin/orders?payment_status=voided`);
  await tab.getByText("No orders match.").waitFor();

  // The dashboard's figures and chart follow.
  await tab.getByRole("link", { name: "TechVerse Admin" }).click();
  await tab.locator("[data-test=gross-sales]", { hasText: "₦1,450,000.00" }).waitFor();
  await tab.locator("[data-test=refunds]", { hasText: "₦50,000.00" }).waitFor();
  const bars = await tab.locator("[data-test=sales-bar]").evaluateAll((els) => els.map((e) => Number(e.dataset.minor)));
  assert.ok(bars.includes(145_000_000), `a bar holds the sale: ${bars}`);
  await tab.setViewportSize({ width: 390, height: 844 });
  await tab.shot("09-dashboard-phone");
  await tab.setViewportSize({ width: 1280, height: 900 });
  await tab.shot("10-dashboard");
  // The store's other pages, each with its state.
  await tab.getByRole("link", { name: "Settings" }).click();
  await tab.fill("#store-description", "Phones and gadgets, picked up in Lagos.");
  await tab.fill("#store-contact", "hello@ngozi.example");
  await tab.locator("[data-test=save-profile]").click();
  await tab.locator("[data-test=saved]").waitFor();
  await tab.shot("11-settings");
  await tab.getByRole("link", { name: "Checkout" }).click();
  await tab.locator("[data-test=zone]", { hasText: "Nigeria" }).waitFor();
  await tab.fill("#zone-name", "Ghana");
  await tab.fill("#zone-countries", "gh");
  await tab.fill("#zone-tax", "12.5");
  await tab.fill("#zone-price", "2,000");
  await tab.getByRole("button", { name: "Add zone" }).click();
  await tab.locator("[data-test=save-checkout]").click();
  await tab.locator("[data-test=saved]").waitFor();
  await tab.shot("11-checkout-settings");
  const checkout = await api("GET", admin("/checkout-settings"), token);
  const ghana = checkout.body.zones.find((z) => z.name === "Ghana");
  assert.equal(ghana.tax_bps, 1250);
  assert.equal(checkout.body.zones.length, 2, "the Nigerian zone kept");
  await tab.goto(`${base}/admin/settings/payments`);
  await tab.locator("h1", { hasText: "Card payments" }).waitFor();
  await tab.shot("11-payments");
  await tab.goto(`${base}/admin/settings/webhooks`);
  await tab.getByText("No endpoints yet.").waitFor();
  await tab.fill("#webhook-url", "http://127.0.0.1:9/hook");
  await tab.locator("[data-test=create-webhook]").click();
  // The server's reason is shown, not a generic line.
  await tab.locator("[role=alert]", { hasText: "https" }).first().waitFor();
  await tab.shot("11-webhooks");
  const publicProfile = await api("GET", `/api/v1/stores/${slug}`);
  assert.equal(publicProfile.body.contact_email, "hello@ngozi.example");
  await tab.getByRole("link", { name: "Categories" }).click();
  await tab.getByText("No categories yet.").waitFor();
  for (const name of ["Phones", "Accessories"]) {
    await tab.fill("#category-name", name);
    await tab.locator("[data-test=add-category]").click();
    await tab.locator("[data-test=category]", { hasText: name }).waitFor();
  }
  // Accessories moves above Phones.
  await tab.locator("[data-test=category]", { hasText: "Accessories" }).getByRole("button", { name: "Move up" }).click();
  await tab.waitForFunction(() => document.querySelector("[data-test=category] span")?.textContent === "Accessories");
  // And back by dragging Phones onto Accessories (it goes just before it).
  await tab.locator("[data-test=category]", { hasText: "Phones" }).dragTo(tab.locator("[data-test=category]", { hasText: "Accessories" }));
  await tab.waitForFunction(() => document.querySelector("[data-test=category] span")?.textContent === "Phones");
  const tree = (await api("GET", admin("/categories"), token)).body.tree;
  assert.deepEqual(tree.map((c) => [c.name, c.position]), [["Phones", 0], ["Accessories", 1]]);
  // The phone goes into Phones from its edit page.
  await tab.goto(`${base}/admin/products/${product.id}`);
  await tab.locator("[data-test=product-categories] label", { hasText: "Phones" }).locator("input").check();
  await tab.locator("[data-test=save-product]").click();
  await tab.locator("[data-test=saved]").waitFor();
  const filed = (await api("GET", admin(`/products/${product.id}`), token)).body;
  assert.deepEqual(filed.category_ids, [tree[0].id]);
  assert.equal(filed.specs.length, 1, "the specs it did not touch are kept");
  await tab.goto(`${base}/admin/categories`);
  await tab.shot("11-categories");
  await tab.getByRole("link", { name: "Discounts" }).click();
  await tab.getByText("No discount codes yet.").waitFor();
  await tab.fill("#discount-code", "launch10");
  await tab.fill("#discount-value", "10");
  await tab.fill("#discount-limit", "100");
  await tab.locator("[data-test=create-discount]").click();
  await tab.locator("[data-test=discount-row]", { hasText: "10.00 % off" }).waitFor();
  await tab.shot("11-discounts");
  await tab.getByRole("link", { name: "Customers" }).click();
  await tab.getByText("No customers yet.").waitFor();
  await tab.shot("12-customers");
  await tab.getByRole("link", { name: "Reviews" }).click();
  await tab.getByText("No reviews here.").waitFor();
  await tab.shot("13-reviews");
  await tab.getByRole("link", { name: "Audit log" }).click();
  await tab.locator("[data-test=audit] tbody tr").first().waitFor();
  await tab.shot("14-audit-log");
  await tab.getByRole("link", { name: "Staff" }).click();
  await tab.locator("[data-test=member-row]").first().waitFor();
  await tab.shot("15-staff");
  assert.deepEqual(tab.errors, []);
  assert.deepEqual(shop.errors, []);

  // A member whose role lacks orders.refund: no refund button, and the API refuses it.
  const role = await api("POST", admin("/roles"), token, { name: "Fulfilment", permissions: ["orders.read", "orders.write"] });
  assert.equal(role.status, 201, JSON.stringify(role.body));
  const invited = await api("POST", admin("/staff/invitations"), token, { email: "clerk@example.com", role: role.body.key });
  assert.equal(invited.status, 202, JSON.stringify(invited.body));
  const invitation = await mailedTokenIn(data, "clerk@example.com", "/admin/accept-invitation");
  const clerk = await newTab(browser, "clerk");
  await clerk.goto(`${base}/admin/accept-invitation?token=${invitation}`);
  await clerk.fill("#name", "Clerk");
  await clerk.fill("#password", "short");
  await clerk.locator("[data-test=accept-invitation]").click();
  await clerk.locator(".field-error").first().waitFor();
  await clerk.fill("#password", merchant.password);
  await clerk.locator("[data-test=accept-invitation]").click();
  await clerk.locator("[data-test=done]", { hasText: "You are now a member of Ngozi Gadgets" }).waitFor();
  await clerk.shot("00-invitation-accepted");
  // The clerk forgets the password and chooses a new one from the mailed link.
  await clerk.getByRole("link", { name: "Sign in" }).first().click();
  await clerk.getByRole("link", { name: "Forgot your password?" }).click();
  await clerk.fill("#email", "clerk@example.com");
  await clerk.locator("[data-test=send-reset]").click();
  await clerk.locator("[data-test=done]").waitFor();
  const reset = await mailedTokenIn(data, "clerk@example.com", "/admin/reset-password");
  await clerk.goto(`${base}/admin/reset-password?token=${reset}`);
  await clerk.fill("#new-password", "a brand new clerk passphrase");
  await clerk.locator("[data-test=save-password]").click();
  await clerk.locator("[data-test=done]", { hasText: "Password changed" }).waitFor();
  await clerk.goto(`${base}/admin/sign-in`);
  await clerk.fill("#email", "clerk@example.com");
  await clerk.fill("#password", "a brand new clerk passphrase");
  await clerk.locator("[data-test=sign-in]").click();
  await clerk.locator("[data-test=gross-sales]").waitFor();
  const orders = await api("GET", admin("/orders"), token);
  const id = orders.body.items[0].id;
  await clerk.goto(`${base}/admin/orders/${id}`);
  await clerk.locator("[data-test=order][data-status=shipped]").waitFor();
  await clerk.locator("[data-test=action-deliver]").waitFor();
  assert.equal(await clerk.locator("[data-test=action-refunds]").count(), 0, "no refund for this role");
  await clerk.shot("01-order-without-refund");
  const forced = await api("POST", admin(`/orders/${id}/refunds`), await login("clerk@example.com", "a brand new clerk passphrase"), { amount: 100 });
  assert.equal(forced.status, 403);
  assert.deepEqual(clerk.errors, []);

  // The merchant opens a second store and runs it; the switcher offers both.
  await tab.getByRole("link", { name: "Open another store" }).click();
  await tab.fill("#store-name", "Ngozi Outlet");
  await tab.fill("#store-slug", "ngozi-outlet");
  await tab.locator("[data-test=open-store]").click();
  await tab.locator("[data-test=dashboard-empty]").waitFor();
  await tab.waitForFunction(() => document.querySelector("[data-test=store-switcher]")?.selectedOptions[0]?.textContent === "Ngozi Outlet");
  assert.deepEqual(await tab.locator("[data-test=store-switcher] option").allTextContents(), ["Ngozi Gadgets", "Ngozi Outlet"]);
  await tab.shot("12-second-store");
  assert.deepEqual(tab.errors, []);
});
