import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { hydrated, signUp, uniqueEmail } from "./helpers";

/** The serious and critical accessibility violations axe-core finds on the page as it stands. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

for (const scheme of ["light", "dark"] as const) {
  test(`every page has no serious or critical accessibility violation (axe-core), ${scheme} mode`, async ({ page }) => {
    test.setTimeout(90_000);
    await page.emulateMedia({ colorScheme: scheme });
    const found: string[] = [];
    const check = async (path: string) => {
      await page.goto(path);
      await hydrated(page);
      for (const v of await violations(page)) found.push(`${path}: ${v}`);
    };
    await check("/login");
    await check("/signup");
    await signUp(page, uniqueEmail(`axe-${scheme}`), "Axe");
    // something on every page: an item in a place, a document
    await page.goto("/inventory/new");
    await page.getByLabel("Name", { exact: true }).fill("Brass lamp");
    await page.getByLabel("Location", { exact: true }).fill("Hall / Shelf");
    await page.getByLabel("Retail price", { exact: true }).fill("40");
    await page.getByRole("button", { name: "Save item" }).click();
    await expect(page.getByTestId("item-name")).toHaveText("Brass lamp");
    const item = page.url();
    await page.goto("/documents");
    await hydrated(page);
    await page.locator("#document-input").setInputFiles([
      { name: "lamp.txt", mimeType: "text/plain", buffer: Buffer.from("The brass lamp needs a new bulb every winter.") },
    ]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await expect(page.getByTestId("doc-status")).toHaveText(["Ready"], { timeout: 30_000 });
    for (const path of [
      "/",
      "/inventory",
      "/inventory?view=grid",
      new URL(item).pathname,
      "/inventory/new",
      "/inventory/import",
      "/inventory/locations",
      "/documents",
      "/search?q=lamp+bulb",
      "/account",
      "/nowhere",
    ]) {
      await check(path);
    }
    // and at phone width, where the table is cards and panels fold
    await page.setViewportSize({ width: 375, height: 740 });
    for (const path of ["/", "/inventory", "/inventory?view=grid", "/documents"]) await check(path);
    expect(found).toEqual([]);
  });
}
