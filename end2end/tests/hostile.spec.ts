import { test, expect, Page } from "@playwright/test";
import { hydrated, signUp, uniqueEmail, watchForErrors } from "./helpers";

// Markup in every field a user (or a supplier's file) fills in. If any of it ran, `window.__pwned`
// would be set or a dialog would open.
const HOSTILE = `</title><script>__pwned=1</script><img src=x onerror=__pwned=2>"'&`;
// A place's name cannot hold "/" (it separates the places of a path).
const PLACE = `<img src=x onerror=__pwned=4>"'&`;

async function notPwned(page: Page, where: string) {
  await hydrated(page);
  expect(await page.evaluate(() => (window as any).__pwned), where).toBeUndefined();
  // the title is the text as typed: escaped once on the server, never twice, never markup
  const title = await page.title();
  expect(title.includes("&lt;"), `${where}: title escaped twice: ${title}`).toBe(false);
}

test("hostile text in every field is shown as text on every page, under a CSP that still hydrates", async ({ page }) => {
  const errors = watchForErrors(page);
  page.on("dialog", (d) => {
    errors.push(`a dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  await signUp(page, uniqueEmail("xss"), HOSTILE);

  await page.goto("/inventory/new");
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill(HOSTILE);
  await page.getByLabel("Description", { exact: true }).fill(`</textarea>${HOSTILE}`);
  await page.getByLabel("Category", { exact: true }).fill(HOSTILE);
  await page.getByLabel("Location", { exact: true }).fill(`Attic / ${PLACE}`);
  await page.getByLabel("Tags", { exact: true }).fill(`oak, ${HOSTILE.slice(0, 40)}`);
  await page.getByRole("button", { name: "Save item" }).click();
  await expect(page.getByTestId("item-name")).toHaveText(HOSTILE);
  await notPwned(page, "item page");
  expect(await page.title()).toBe(`${HOSTILE} · Bartleby`);
  const item = page.url();

  await page.goto(`${item}/edit`);
  await notPwned(page, "edit page");
  // the description reads back as typed in its box
  await expect(page.getByLabel("Description", { exact: true })).toHaveValue(`</textarea>${HOSTILE}`);
  await page.goto(`${item}/delete`);
  await notPwned(page, "delete page");
  await page.goto("/inventory");
  await notPwned(page, "inventory table");
  await page.goto(`/inventory?q=${encodeURIComponent(HOSTILE)}`);
  await notPwned(page, "inventory search");
  await page.goto("/inventory/locations");
  await notPwned(page, "locations");
  await page.getByRole("link", { name: PLACE }).first().click();
  await expect(page.getByTestId("place-name")).toHaveText(PLACE);
  await notPwned(page, "place page");
  await page.goto("/");
  await notPwned(page, "dashboard");

  await page.goto("/documents");
  await hydrated(page);
  await page.locator("#document-input").setInputFiles([
    { name: `${HOSTILE.replace(/\//g, "")}.txt`, mimeType: "text/plain", buffer: Buffer.from(`${HOSTILE} lamp manual`) },
  ]);
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-file-state")).toHaveText(["Added; reading it now"]);
  await expect(page.getByTestId("doc-status")).toHaveText(["Ready"], { timeout: 30_000 });
  await notPwned(page, "documents");
  await page.goto(`/search?q=${encodeURIComponent("lamp manual")}`);
  await notPwned(page, "search");
  await page.getByTestId("result").first().getByRole("link").first().click();
  await expect(page.getByTestId("document-title")).toBeVisible();
  await notPwned(page, "document page");

  expect(errors).toEqual([]);
});
