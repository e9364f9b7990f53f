// What the end-to-end test files share: a free port, the server's test environment, serving
// the real binary (seeded with the demo store) until it is ready, Chromium, and tabs that
// collect page errors and CSP violations and take named screenshots.

import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "..", "..");
export const shots = join(here, "screenshots");
export const bin = process.env.TECHVERSE_BIN;
assert.ok(bin, "TECHVERSE_BIN must name the techverse binary");

export function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
    probe.on("error", fail);
  });
}

/// The server's environment for a test on `data` and `port`, plus `extra` variables.
export function serverEnv(data, port, extra = {}) {
  return {
    ...process.env,
    TECHVERSE_DATA_DIR: data,
    TECHVERSE_LISTEN_ADDR: `127.0.0.1:${port}`,
    TECHVERSE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    TECHVERSE_STATIC_DIR: join(repo, "frontend", "dist"),
    TECHVERSE_LOG_LEVEL: "warn",
    TECHVERSE_ARGON2_MEMORY_KIB: "1024",
    TECHVERSE_ARGON2_ITERATIONS: "1",
    TECHVERSE_RATE_LIMIT_IP_PER_MINUTE: "100000",
    TECHVERSE_RATE_LIMIT_STORE_IP_PER_MINUTE: "100000",
    ...extra,
  };
}

/// Seeds the demo store; returns its owner's login.
export function seedDemo(env) {
  const seeded = execFileSync(bin, ["seed", "demo", "--no-history"], { env, encoding: "utf8" });
  return {
    email: seeded.match(/owner: (\S+)/)[1],
    password: seeded.match(/password: (\S+)/)[1],
  };
}

/// `techverse serve` with `env` on `port`, once `/ready` answers: `{ child, url }`.
export async function serve(env, port) {
  const child = spawn(bin, ["serve"], { env, stdio: ["ignore", "inherit", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url };
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/// Removes a test file's earlier screenshots (named `<prefix>-…` for each of its prefixes),
/// keeping the other files'.
export function clearShots(prefixes) {
  mkdirSync(shots, { recursive: true });
  for (const file of readdirSync(shots)) {
    if (prefixes.some((p) => file.startsWith(`${p}-`))) rmSync(join(shots, file), { force: true });
  }
}

/// A new tab whose `errors` collect page errors and CSP violations (the app's policy must never
/// have to block anything it does) and whose `shot(step)` saves `<name>-<step>.png`.
export async function newTab(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("console", (m) => m.text().includes("Content Security Policy") && errors.push(m.text()));
  tab.shot = (step) => tab.screenshot({ path: join(shots, `${name}-${step}.png`), fullPage: true });
  tab.errors = errors;
  return tab;
}

/// The token of the newest link to `page` mailed to `to` (the file mailer writes .eml files
/// under `<data>/mail`), waiting up to 10 s for it.
export async function mailedTokenIn(data, to, page) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const dir = join(data, "mail");
    const found = (() => {
      try {
        return readdirSync(dir)
          .map((f) => readFileSync(join(dir, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "="))
          .filter((m) => m.includes(to) && m.includes(page))
          .map((m) => m.match(new RegExp(`${page}\\?token=([A-Za-z0-9_-]{43})`))?.[1])
          .filter(Boolean);
      } catch {
        return [];
      }
    })();
    if (found.length) return found[found.length - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${page} mail for ${to}`);
}
