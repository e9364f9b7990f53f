// The API docs page (/api/docs/, Swagger UI served from the binary) renders the generated
// OpenAPI document in headless Chromium, and nothing it loads leaves loopback: every request
// the page makes is recorded, and any request to another host is refused and fails the test.
//
// Environment: TECHVERSE_BIN (the server binary), CHROMIUM (default /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, serverEnv, serve, launchChromium, clearShots, newTab } from "./harness.mjs";

let server, browser, base, data;

before(async () => {
  clearShots(["docs"]);
  data = mkdtempSync(join(tmpdir(), "techverse-e2e-docs-"));
  const port = await freePort();
  ({ child: server, url: base } = await serve(serverEnv(data, port), port));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
});

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

test("/api/docs renders every operation of the document with no request leaving loopback", async () => {
  const tab = await newTab(browser, "docs");
  const requested = [];
  const refused = [];
  await tab.context().route("**/*", (route) => {
    const url = new URL(route.request().url());
    requested.push(url.href);
    if (url.protocol === "data:" || LOOPBACK.has(url.hostname)) return route.continue();
    refused.push(url.href);
    return route.abort("blockedbyclient");
  });

  const document = await (await fetch(`${base}/api/v1/openapi.json`)).json();
  const operations = Object.values(document.paths).flatMap((item) =>
    Object.keys(item).filter((m) => ["get", "put", "post", "patch", "delete"].includes(m)),
  ).length;

  await tab.goto(`${base}/api/docs/`);
  await tab.locator(".swagger-ui .info .title", { hasText: document.info.title }).waitFor();
  await tab.locator(".opblock").first().waitFor();
  const rendered = await tab.locator(".opblock").count();
  assert.equal(rendered, operations, "one block per operation of the document");

  // Opening an operation shows its parameters and its documented answers.
  const login = tab.locator(".opblock", { hasText: "/api/v1/auth/login" }).first();
  await login.locator(".opblock-summary").click();
  await login.locator(".responses-table").waitFor();
  assert.ok(await login.locator(".response[data-code='401']").count(), "the 401 answer is documented");
  await tab.shot("01-operations");

  assert.deepEqual(refused, [], "no request leaves loopback");
  assert.ok(requested.some((u) => u.endsWith("/api/v1/openapi.json")), "the page loaded our document");
  assert.ok(requested.every((u) => u.startsWith(base) || u.startsWith("data:")), requested.join("\n"));
  assert.deepEqual(tab.errors, [], "no page errors or CSP violations");
});
