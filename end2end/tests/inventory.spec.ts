import { test, expect } from "@playwright/test";
import { hydrated, signUp, textPng, uniqueEmail, watchForErrors } from "./helpers";

async function addItem(page, fields: Record<string, string>) {
  await page.goto("/inventory/new");
  await hydrated(page);
  for (const [label, value] of Object.entries(fields)) {
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await page.getByRole("button", { name: "Save item" }).click();
  await expect(page.getByTestId("item-name")).toHaveText(fields["Name"]);
}

test("add items, then sort, filter and search the table; edit and delete one", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("inv"), "Collector");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inventory" }).click();
  await expect(page.getByText("Nothing here yet")).toBeVisible();

  await addItem(page, { Name: "Oak chair", Category: "Furniture", Quantity: "4", Tags: "oak, vintage", "Retail price": "120" });
  await expect(page.getByText("120.00 USD")).toBeVisible();
  await addItem(page, { Name: "Brass lamp", Category: "Lighting", Quantity: "1", "Retail price": "85.5" });
  await addItem(page, { Name: "Walnut table", Category: "Furniture", Quantity: "1", Tags: "vintage" });

  await page.goto("/");
  await expect(page.getByTestId("item-total")).toHaveText("3 items");
  await expect(page.getByTestId("value-total")).toHaveText("565.50 USD");
  await expect(page.getByRole("img", { name: /Items by category\. Furniture: 2, Lighting: 1/ })).toBeVisible();

  await page.goto("/inventory");
  await hydrated(page);
  await expect(page.getByTestId("item-count")).toHaveText("3 items");
  const names = page.locator("table.items tbody tr td.name");
  // newest first by default
  await expect(names).toHaveText(["Walnut table", "Brass lamp", "Oak chair"]);

  await page.getByRole("link", { name: "Name" }).click();
  await expect(page).toHaveURL(/sort=name/);
  await expect(names).toHaveText(["Brass lamp", "Oak chair", "Walnut table"]);
  await page.getByRole("link", { name: /^Name/ }).click();
  await expect(names).toHaveText(["Walnut table", "Oak chair", "Brass lamp"]);

  // the view survives a reload: its state is in the URL
  await page.reload();
  await expect(names).toHaveText(["Walnut table", "Oak chair", "Brass lamp"]);

  await hydrated(page);
  // a menu applies as soon as it changes (no need for Apply once the page is live)
  await page.getByLabel("Category", { exact: true }).selectOption("Furniture");
  await expect(page).toHaveURL(/category=Furniture/);
  await expect(names).toHaveText(["Walnut table", "Oak chair"]);
  // the page size is a choice, kept in the URL with the rest
  await hydrated(page);
  await page.getByLabel("Rows a page").selectOption("25");
  await expect(page).toHaveURL(/per=25/);
  await expect(page).toHaveURL(/category=Furniture/);
  await expect(page.getByLabel("Rows a page")).toHaveValue("25");

  await page.getByRole("link", { name: "Clear" }).click();
  await page.getByLabel("Search", { exact: true }).fill("lamb"); // a typo still finds the lamp
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(names).toHaveText(["Brass lamp"]);

  await page.getByRole("link", { name: "Brass lamp" }).click();
  await page.getByRole("link", { name: "Edit" }).click();
  await hydrated(page);
  await page.getByLabel("Quantity").fill("-1");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByTestId("form-error")).toHaveText("The quantity cannot be negative.");
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByTestId("item-name")).toHaveText("Brass lamp");
  await expect(page.locator(".details")).toContainText("2");

  await page.getByRole("link", { name: "Delete" }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Delete item" }).click();
  await expect(page).toHaveURL(/\/inventory$/);
  await expect(page.getByTestId("item-count")).toHaveText("2 items");
  expect(errors).toEqual([]);
});

test("another user's item is not found", async ({ page, browser }) => {
  await signUp(page, uniqueEmail("owner"), "Owner");
  await addItem(page, { Name: "Private diary" });
  const url = page.url();

  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signUp(otherPage, uniqueEmail("snoop"), "Snoop");
  const response = await otherPage.goto(url);
  expect(response?.status()).toBe(404);
  await expect(otherPage.getByRole("heading", { name: "Item not found" })).toBeVisible();
  await expect(otherPage.getByText("Private diary")).toHaveCount(0);
  await other.close();
});

// a 2x2 PNG, made here so the test ships no binary fixture
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001049444154789c63f8cfc000440c100a001fee03fd8b5f14d40000000049454e44ae426082",
  "hex",
);

test("the words on an item's photo are read, shown on its page and found by the table's search", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("label"), "Labeller");
  await addItem(page, { Name: "Cordless drill" });
  // the browser draws the drill's rating plate
  const label = await textPng(
    page,
    [
      { text: "BOSCH PSB 18 LI-2", font: "bold 56px sans-serif" },
      { text: "Serial 4471-2209", font: "44px sans-serif" },
    ],
    { width: 1200, height: 400, background: "#eee" },
  );
  await page.getByLabel(/Drop photos here/).setInputFiles({ name: "plate.png", mimeType: "image/png", buffer: label });
  await page.getByRole("button", { name: "Upload photos" }).click();
  await expect(page.getByTestId("upload-file-state")).toHaveText(["Added"]);
  // the gallery follows the reading, then shows the words without a reload
  await expect(page.getByTestId("photo-text")).toContainText("Serial 4471-2209", { timeout: 60_000 });
  await expect(page.getByTestId("photo-reading")).toHaveCount(0);
  await page.goto("/inventory?q=bosch");
  await expect(page.locator("table.items tbody tr")).toHaveCount(1);
  await expect(page.locator("table.items tbody tr")).toContainText("Cordless drill");
  expect(errors).toEqual([]);
});

test("add a photo to an item and see it; a non-image is refused", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("photo"), "Photographer");
  await addItem(page, { Name: "Teapot" });
  await page.getByLabel(/Drop photos here/).setInputFiles({ name: "teapot.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("button", { name: "Upload photos" }).click();
  await expect(page.getByTestId("upload-file-state")).toHaveText(["Added"]);
  const photo = page.getByRole("img", { name: "Photo 1 of Teapot" });
  await expect(photo).toBeVisible();
  await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  // stored where the configuration says (scripts/test.sh runs this against local disk and Vercel Blob)
  await expect(page.getByTestId("photo-fallback")).toHaveCount(0);
  // the tile is the small thumbnail, never the original; it opens the photo large over the page
  expect(await photo.getAttribute("src")).not.toBe(null);
  await photo.click();
  const large = page.getByRole("dialog", { name: "Photo 1 of Teapot" });
  await expect(large).toBeVisible();
  await expect(large).toContainText("1 of 1");
  await expect.poll(() => large.getByRole("img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await large.getByRole("link", { name: "Close" }).click();
  await expect(large).toBeHidden();
  // and the table shows it in the item's row
  await page.goto("/inventory");
  const cover = page.locator("table.items tbody tr", { hasText: "Teapot" }).locator("td.photo img");
  await expect.poll(() => cover.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await page.goBack();

  await page.getByLabel(/Drop photos here/).setInputFiles({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from("not an image") });
  await page.getByRole("button", { name: "Upload photos" }).click();
  await expect(page.getByTestId("upload-file-state")).toHaveText(["That file is not a JPEG, PNG, WebP or HEIC image."]);
  await expect(page.getByTestId("photo")).toHaveCount(1);
  expect(errors).toEqual([]);
});

test("export the inventory as CSV", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("export"), "Exporter");
  await addItem(page, { Name: "Walnut table", Category: "Furniture", "Retail price": "400" });
  await page.goto("/inventory");
  await hydrated(page);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export", exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^bartleby-inventory-\d{4}-\d{2}-\d{2}\.csv$/);
  const fs = await import("node:fs/promises");
  const text = await fs.readFile(await download.path(), "utf8");
  expect(text.split("\n")[0]).toContain("name,description,category");
  expect(text).toContain("Walnut table,,Furniture");
  expect(text).toContain("400.00");

  await page.getByLabel("Export as").selectOption("Excel (XLSX)");
  const [excel] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export", exact: true }).click(),
  ]);
  expect(excel.suggestedFilename()).toMatch(/\.xlsx$/);
  const bytes = await fs.readFile(await excel.path());
  expect(bytes.subarray(0, 2).toString()).toBe("PK"); // a zip container, as XLSX is
  expect(errors).toEqual([]);
});

test("put things in places, move a box with its contents, and change checked rows together", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("places"), "Organiser");
  await addItem(page, { Name: "Hammer", Location: "Garage / Shelf" });
  await expect(page.getByTestId("item-location")).toHaveText("Garage / Shelf");
  await addItem(page, { Name: "Nails", Location: "garage / shelf / Tin", Quantity: "200" });
  await expect(page.getByTestId("item-location")).toHaveText("Garage / Shelf / Tin");
  await addItem(page, { Name: "Bicycle", Location: "Shed" });

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Locations" }).click();
  await hydrated(page);
  const places = page.getByTestId("places");
  await expect(places.getByRole("row", { name: /Garage 2 201/ })).toBeVisible();
  await places.getByRole("link", { name: "Tin" }).click();
  await expect(page.getByTestId("place-name")).toHaveText("Tin");
  await hydrated(page);
  // move the tin to the shed: the nails go with it
  await page.getByLabel("Move into").selectOption({ label: "Shed" });
  await page.getByRole("button", { name: "Move" }).click();
  await expect(page.locator(".crumbs")).toContainText("Shed");
  await page.getByRole("link", { name: "Shed" }).click();
  await expect(page.getByTestId("place-figures")).toContainText("2 items (1 directly here) · 201 pieces");

  // the table filters by a place and everything inside it
  await page.goto("/inventory");
  await hydrated(page);
  await page.getByLabel("Location", { exact: true }).selectOption({ label: "Shed" });
  await expect(page).toHaveURL(/location=\d+/);
  const names = page.locator("table.items tbody tr td.name");
  await expect(names).toHaveText(["Bicycle", "Nails"]);

  // check two rows and set their category; then delete one, confirming
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(names).toHaveCount(3);
  await page.getByLabel("Select Hammer").check();
  await page.getByLabel("Select Nails").check();
  await expect(page.getByTestId("selected-count")).toHaveText("2 selected");
  await page.getByLabel("With the selected items").selectOption("set_category");
  await page.getByLabel("Category, location or tags").fill("Tools");
  await page.getByRole("button", { name: "Change selected" }).click();
  await expect(page.getByTestId("bulk-status")).toHaveText("2 items changed.");
  await expect(page.locator("table.items tbody tr", { hasText: "Hammer" })).toContainText("Tools");
  await page.getByLabel("Select Bicycle").check();
  await page.getByLabel("With the selected items").selectOption("delete");
  await page.getByRole("button", { name: "Change selected" }).click();
  await expect(page.getByTestId("form-error")).toContainText("Yes, delete them");
  await page.getByLabel("Select Bicycle").check();
  await page.getByLabel("Yes, delete them").check();
  await page.getByRole("button", { name: "Change selected" }).click();
  await expect(page.getByTestId("item-count")).toHaveText("2 items");
  await expect(names).toHaveText(["Nails", "Hammer"]);
  expect(errors).toEqual([]);
});

test("import items from a CSV file: problems are shown by line, a fixed file imports whole", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("import"), "Importer");
  await page.goto("/inventory");
  await hydrated(page);
  await page.getByRole("link", { name: "Import CSV" }).click();
  await expect(page.getByRole("heading", { name: "Import items from a CSV file" })).toBeVisible();

  const file = (body: string) => ({ name: "items.csv", mimeType: "text/csv", buffer: Buffer.from(body) });
  await page.getByLabel(/Drop a CSV file here/).setInputFiles(file("name,quantity,location\nChair,2,Hall\nLamp,-1,\n"));
  await page.getByRole("button", { name: "Check the file" }).click();
  await expect(page.getByTestId("import-summary")).toHaveText("2 rows read; 1 problem to fix before anything can be imported.");
  await expect(page.getByTestId("import-problems")).toContainText("The quantity cannot be negative.");
  await expect(page.getByRole("button", { name: /^Import/ })).toHaveCount(0);
  await hydrated(page);
  await page.getByRole("button", { name: "Discard this file" }).click();
  await expect(page).toHaveURL(/\/inventory\/import$/);

  await page.getByLabel(/Drop a CSV file here/).setInputFiles(file("name,quantity,location\nChair,2,Hall\nLamp,1,Hall / Desk\n"));
  await page.getByRole("button", { name: "Check the file" }).click();
  await expect(page.getByTestId("import-summary")).toHaveText("2 items ready to import.");
  await hydrated(page);
  await page.getByRole("button", { name: "Import 2 items" }).click();
  // the import runs in the background; its page follows it to the result
  await expect(page).toHaveURL(/\/inventory\/import\/[0-9a-f]{32}$/);
  await expect(page.getByTestId("import-done")).toHaveText("2 items imported.", { timeout: 20_000 });
  await page.getByRole("link", { name: "Open the inventory" }).click();
  await expect(page.getByTestId("item-count")).toHaveText("2 items");
  await expect(page.locator("table.items tbody")).toContainText("Hall / Desk");
  expect(errors).toEqual([]);
});

test("at phone width the inventory is a list of cards, the first on the first screen, with filters and changes behind a button each", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.setViewportSize({ width: 375, height: 740 });
  await signUp(page, uniqueEmail("cards"), "Cards");
  await addItem(page, { Name: "Oak chair", Location: "Kitchen", Quantity: "4", "Retail price": "120" });
  await addItem(page, { Name: "Brass lamp", Location: "Living room / Shelf" });
  await page.goto("/inventory");
  await hydrated(page);
  const first = page.locator("table.items tbody tr").first();
  await expect(first).toContainText("Brass lamp");
  await expect(first).toContainText("Living room / Shelf");
  const box = (await first.boundingBox())!;
  expect(box.y + box.height).toBeLessThan(740);
  // nothing runs off the side: name, place, quantity and price are all on the card
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  const chair = page.locator("table.items tbody tr", { hasText: "Oak chair" });
  for (const [cell, text] of [["td.place", "Kitchen"], ["td.qty", "4"], ["td.price", "120.00 USD"]]) {
    await expect(chair.locator(cell)).toHaveText(text);
    await expect(chair.locator(cell)).toBeInViewport();
  }
  // filters and the checkboxes wait behind their buttons
  await expect(page.getByLabel("Category", { exact: true })).toBeHidden();
  await expect(page.getByLabel("Select Oak chair")).toBeHidden();
  await page.getByText("Search and filters").click();
  await expect(page.getByLabel("Category", { exact: true })).toBeVisible();
  await page.getByText("Select and change several").click();
  const check = page.getByLabel("Select Oak chair");
  await expect(check).toBeVisible();
  // touch targets of at least 44 px: the checkbox's cell-sized label, the buttons
  const hit = (await page.locator("label.hit", { has: check }).boundingBox())!;
  expect(Math.min(hit.width, hit.height)).toBeGreaterThanOrEqual(44);
  const button = (await page.getByRole("button", { name: "Change selected" }).boundingBox())!;
  expect(button.height).toBeGreaterThanOrEqual(44);
  await check.check();
  await page.getByLabel("With the selected items").selectOption("set_category");
  await page.getByLabel("Category, location or tags").fill("Furniture");
  await page.getByRole("button", { name: "Change selected" }).click();
  await expect(page.getByTestId("bulk-status")).toHaveText("1 item changed.");
  // the same items as photos: two tiles a row, nothing off the side, names and places on them
  await page.getByRole("link", { name: "Photos" }).click();
  await expect(page).toHaveURL(/view=grid/);
  const tiles = page.getByTestId("tiles").locator("li");
  await expect(tiles).toHaveCount(2);
  // (the chair was changed last: newest first)
  await expect(tiles.first()).toContainText("Oak chair");
  await expect(tiles.first()).toContainText("× 4");
  await expect(tiles.nth(1)).toContainText("Brass lamp");
  await expect(tiles.nth(1)).toContainText("Living room / Shelf");
  const [a, b] = [(await tiles.first().boundingBox())!, (await tiles.nth(1).boundingBox())!];
  expect(Math.abs(a.y - b.y)).toBeLessThan(1);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.getByRole("link", { name: "Table" }).click();
  await expect(page.locator("table.items tbody tr")).toHaveCount(2);
  expect(errors).toEqual([]);
});
