// Screenshots of a running storefront (e.g. `bash scripts/run`): home, listing, product,
// checkout confirmation. Usage: node tools/tour.mjs [http://127.0.0.1:8080/s/demo] [out-dir]
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const root = process.argv[2] ?? "http://127.0.0.1:8080/s/demo";
const out = process.argv[3] ?? "tour";
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const shot = (name) => tab.screenshot({ path: `${out}/${name}.png`, fullPage: true });
await tab.goto(`${root}/`);
await tab.locator(".card").first().waitFor();
await shot("1-home");
await tab.goto(`${root}/products?category=`);
await tab.locator(".card").first().waitFor();
await shot("2-listing");
await tab.locator(".card a").first().click();
await tab.locator("[data-test=price]").waitFor();
await shot("3-product");
await tab.locator("[data-test=add-to-cart]:not([disabled])").click();
await tab.getByText("Added to your cart").waitFor();
await tab.goto(`${root}/checkout`);
await tab.fill("#email", "tour@example.com");
await tab.fill("#name", "Tour Guest");
await tab.fill("#line1", "1 Marina");
await tab.fill("#city", "Lagos");
await tab.locator("input[name=shipping]").first().check();
await tab.locator("[data-test=totals]").waitFor();
await tab.locator("[data-test=place-order]").click();
await tab.locator("[data-test=order-status]").waitFor();
await shot("4-confirmation");
console.log(`screenshots in ${out}/: ${await tab.locator("h1").textContent()}, total ${await tab.locator("[data-test=total]").textContent()}`);
await browser.close();
