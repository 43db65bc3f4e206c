// How soon each page can be used on a mid-range phone: Chromium with the CPU slowed 4x and the
// network of Chrome's "Fast 3G" profile (562.5 ms round trip, 1.44 Mbit/s down, 675 kbit/s up).
// Prints, per page, when its HTML is parsed (links and forms work from then: they are plain HTML)
// and when its islands are live (`data-hydrated`), on a first visit (empty cache) and on a visit
// with the bundle cached (as every page after the first).
//   node end2end/bench/interactive.mjs http://127.0.0.1:3999
// A measurement, not a test: scripts/bench-startup.sh runs it against the release build.
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const FAST_3G = { offline: false, latency: 562.5, downloadThroughput: (1.44e6 / 8) * 0.9, uploadThroughput: (675e3 / 8) * 0.9 };

// Debian's Chromium, as the browser tests use it (playwright.config.ts)
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 412, height: 915 }, isMobile: true, hasTouch: true });
await context.addInitScript(() => {
  new MutationObserver((_, observer) => {
    if (document.querySelector('.app[data-hydrated="true"]')) {
      window.__liveAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
});
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send("Network.enable");

async function throttled(on) {
  await cdp.send("Network.emulateNetworkConditions", on ? FAST_3G : { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: on ? 4 : 1 });
}

async function measure(path, cold) {
  if (cold) await cdp.send("Network.clearBrowserCache");
  await page.goto(base + path, { waitUntil: "load" });
  await page.waitForSelector('.app[data-hydrated="true"]', { state: "attached", timeout: 60_000 });
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const bytes = performance.getEntriesByType("resource").reduce((n, r) => n + r.transferSize, nav.transferSize);
    return { parsed: nav.domContentLoadedEventEnd, live: window.__liveAt, bytes };
  });
}

// an account to see the signed-in pages, made at full speed
await page.goto(base + "/signup");
await page.getByLabel("Email").fill(`phone-${Date.now()}@example.com`);
await page.getByLabel("Your name").fill("Phone");
await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
await page.getByRole("button", { name: "Create account" }).click();
await page.waitForURL(base + "/");

await throttled(true);
const pages = ["/", "/inventory", "/inventory/new", "/documents", "/search?q=warranty", "/account"];
const row = (label, r) =>
  console.log(`${label.padEnd(46)} HTML parsed ${Math.round(r.parsed)} ms, islands live ${Math.round(r.live)} ms, ${Math.round(r.bytes / 1024)} kB transferred`);
for (const path of pages) {
  row(`${path}, first visit (empty cache)`, await measure(path, true));
  row(`${path}, bundle cached`, await measure(path, false));
}
await browser.close();
