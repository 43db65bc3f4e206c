import { test, expect } from "@playwright/test";
import { hydrated, scannedPdf, signUp, textPng, uniqueEmail, watchForErrors } from "./helpers";

const BOILER =
  "The boiler was installed in March 2024 by Acme Heating. The manufacturer's warranty covers parts and " +
  "labour for five years, provided the boiler is serviced every year by a registered engineer.";
const GARDEN =
  "Tomatoes need full sun and regular watering. Pinch out the side shoots and feed them weekly once the first truss has set.";

function file(name: string, text: string) {
  return { name, mimeType: "text/plain", buffer: Buffer.from(text) };
}

test("upload documents, watch them ingest, search by meaning, open the passage, share one", async ({ page, browser }) => {
  const errors = watchForErrors(page);
  // the person to share with needs an account
  const readerEmail = uniqueEmail("reader");
  const readerContext = await browser.newContext();
  const reader = await readerContext.newPage();
  await signUp(reader, readerEmail, "Reader");

  await signUp(page, uniqueEmail("docs"), "Archivist");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Documents" }).click();
  await hydrated(page);
  await expect(page.getByTestId("no-documents")).toBeVisible();

  await page.locator("#document-input").setInputFiles([
    file("boiler.md", `# Boiler\n\n${BOILER}\n`),
    file("garden.txt", GARDEN),
  ]);
  // the chosen files are listed; each is sent with its own progress and says how it went
  await expect(page.getByTestId("upload-file")).toHaveCount(2);
  await expect(page.getByTestId("upload-file-state")).toHaveText(["Waiting", "Waiting"]);
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-file-state")).toHaveText(["Added; reading it now", "Added; reading it now"]);
  await expect(page.getByTestId("upload-watch")).toContainText("2 of 2 files sent");
  // the list (on the same page, not reloaded) shows them and follows them until both are ready
  await expect(page.getByTestId("doc-status")).toHaveText(["Ready", "Ready"], { timeout: 30_000 });
  // the same file again, and a type Bartleby does not read: each says why, the others are not held up
  await page.locator("#document-input").setInputFiles([
    file("garden.txt", GARDEN),
    { name: "x.bin", mimeType: "application/octet-stream", buffer: Buffer.from([0, 1, 2, 3]) },
  ]);
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("upload-file-state")).toHaveText([
    "You already have this file (same content); skipped",
    "“x.bin” is not a PDF, Word (DOCX), Excel (XLSX), HTML, Markdown or plain text file, nor an image (JPEG, PNG, WebP, HEIC, TIFF).",
  ]);
  await expect(page.getByTestId("document-row")).toHaveCount(2);
  // the dashboard counts them and lists the newest
  await page.goto("/");
  await expect(page.getByTestId("document-total")).toHaveText("2 documents");
  await expect(page.getByTestId("recent-documents").getByRole("link")).toHaveCount(2);
  await page.goto("/documents");

  // the one-box search in the header
  await page.getByRole("search").first().getByLabel("Search documents").fill("how long is the heating guaranteed");
  await page.getByRole("search").first().getByLabel("Search documents").press("Enter");
  await expect(page).toHaveURL(/\/search\?q=how/);
  const results = page.getByTestId("result");
  await expect(results.first()).toContainText("boiler");
  await expect(page.getByTestId("search-meta")).toContainText("ms");
  await expect(page.getByTestId("search-fallback")).toHaveCount(0);

  // by words, with the words marked
  await hydrated(page);
  await page.getByLabel("Search your documents").fill("tomatoes");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(results).toHaveCount(1);
  await expect(results.first().locator("mark")).toHaveText(["Tomatoes"]);
  // a cue says how it matched
  await expect(results.first().getByTestId("match-cue")).toHaveText(/^Matches your words/);

  // open the document at the passage
  await results.first().getByRole("link", { name: "garden" }).click();
  await expect(page.getByTestId("document-title")).toHaveText("garden");
  await expect(page.locator(".extracted")).toContainText("Pinch out the side shoots");
  // the words searched for are marked where it opened
  await expect(page.locator(".extracted mark").first()).toHaveText(/^tomatoes$/i);
  await expect(page.getByTestId("summary")).toContainText("Tomatoes need full sun");

  // share it, read-only
  await hydrated(page);
  await page.getByLabel("Share with").fill(readerEmail);
  await page.getByRole("button", { name: "Share, read-only" }).click();
  await expect(page.getByTestId("grantees")).toContainText(readerEmail);
  await reader.goto("/documents");
  await expect(reader.getByTestId("shared-documents")).toContainText("garden");
  await reader.getByRole("link", { name: "garden" }).click();
  await expect(reader.getByTestId("shared-by")).toBeVisible();
  await expect(reader.getByRole("button", { name: "Delete for good" })).toHaveCount(0);

  // delete the other one
  await page.goto("/documents");
  await page.getByRole("link", { name: "boiler" }).click();
  await hydrated(page);
  await page.getByText("Delete this document").click();
  await page.getByRole("button", { name: "Delete for good" }).click();
  await expect(page).toHaveURL(/\/documents\?deleted=1/);
  await expect(page.getByTestId("document-row")).toHaveCount(1);

  await readerContext.close();
  expect(errors).toEqual([]);
});

test("a photographed receipt is read by OCR and found by its words", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("ocr"), "Scanner");
  await page.goto("/documents");
  await hydrated(page);
  // the browser draws the receipt, a little crooked, as a phone would photograph it
  const png = await textPng(
    page,
    ["RECEIPT Hardware Store of Springfield", "Cordless drill model DX-400 129.99", "Serial number SN 4471-2209", "Warranty two years from purchase"]
      .map((text) => ({ text, font: "44px serif" })),
    { width: 1600, height: 700, degrees: 1.5 },
  );
  await page.locator("#document-input").setInputFiles([{ name: "receipt.png", mimeType: "image/png", buffer: png }]);
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByTestId("doc-status")).toHaveText(["Ready"], { timeout: 60_000 });
  await expect(page.getByTestId("ocr-note")).toHaveText("Text read by OCR from the image: it may hold mistakes.");
  // found by a word only the picture holds, and opened at its text
  await page.goto("/search?q=serial+4471-2209");
  await expect(page.getByTestId("result").first()).toContainText("receipt");
  await page.getByTestId("result").first().getByRole("link", { name: "receipt" }).click();
  await expect(page.getByTestId("document-title")).toHaveText("receipt");
  await expect(page.locator(".extracted")).toContainText("Hardware Store of Springfield");
  await expect(page.getByRole("link", { name: "Download" })).toHaveAttribute("href", /\/documents\/\d+\/file$/);
  // its owner gives it a better title
  await hydrated(page);
  await page.getByText("Rename").click();
  await page.getByLabel("Title", { exact: true }).fill("Drill receipt, Springfield");
  await page.getByRole("button", { name: "Save the title" }).click();
  await expect(page.getByTestId("document-title")).toHaveText("Drill receipt, Springfield");
  await expect(page).toHaveTitle("Drill receipt, Springfield · Bartleby");
  expect(errors).toEqual([]);
});

test("a scanned PDF shows which page OCR is reading, then says its text was read by OCR", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("scan"), "Scanner");
  await page.goto("/documents");
  await hydrated(page);
  const pdf = await scannedPdf(page, [
    ["Minutes of the residents' meeting", "The lift will be repaired in March."],
    ["The garden committee asks for volunteers", "to plant the spring bulbs."],
    ["The next meeting is on the first Tuesday", "of April in the community room."],
  ]);
  await page.locator("#document-input").setInputFiles([{ name: "minutes.pdf", mimeType: "application/pdf", buffer: pdf }]);
  await page.getByRole("button", { name: "Upload" }).click();
  // the list follows the reading page by page
  await expect(page.getByTestId("doc-status")).toHaveText(/^Reading text \(OCR\), page [1-3] of 3$/, { timeout: 30_000 });
  await expect(page.getByTestId("doc-status")).toHaveText(["Ready"], { timeout: 60_000 });
  await expect(page.getByTestId("ocr-note")).toHaveText("Text of 3 pages read by OCR: it may hold mistakes.");
  await page.goto("/search?q=spring+bulbs+volunteers");
  await expect(page.getByTestId("result").first()).toContainText("minutes");
  expect(errors).toEqual([]);
});

test("search finds inventory items by meaning", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("things"), "Keeper");
  for (const [name, category] of [["Oak dining chair", "Furniture"], ["Brass table lamp", "Lighting"]]) {
    await page.goto("/inventory/new");
    await hydrated(page);
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Category", { exact: true }).fill(category);
    await page.getByRole("button", { name: "Save item" }).click();
    await expect(page.getByTestId("item-name")).toHaveText(name);
  }
  // no word of the query is in either item; they are embedded in the background, so ask again
  // until the chair is there
  await expect(async () => {
    await page.goto("/search?q=somewhere+to+sit");
    await expect(page.getByTestId("item-hits")).toContainText("Oak dining chair", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId("item-hits")).not.toContainText("Brass table lamp");
  await expect(page.getByTestId("search-fallback")).toHaveCount(0);
  await page.getByTestId("item-hits").getByRole("link", { name: "Oak dining chair" }).click();
  await expect(page.getByTestId("item-name")).toHaveText("Oak dining chair");
  expect(errors).toEqual([]);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("upload and search work as plain forms", async ({ page }) => {
    await page.goto("/signup");
    await page.getByLabel("Email").fill(uniqueEmail("nojs-docs"));
    await page.getByLabel("Your name").fill("Plain");
    await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.goto("/documents");
    await page.locator("#document-input").setInputFiles([file("keys.txt", "The spare keys are in the blue box on the top shelf.")]);
    await page.getByRole("button", { name: "Upload" }).click();
    await expect(page.getByTestId("upload-status")).toContainText("1 document added");
    // an unsupported file gets a message, not an error page
    await page.locator("#document-input").setInputFiles([{ name: "x.bin", mimeType: "application/octet-stream", buffer: Buffer.from([0, 1, 2, 3]) }]);
    await page.getByRole("button", { name: "Upload" }).click();
    await expect(page.getByTestId("upload-error")).toContainText("was not a PDF, Word");
    // the page loads itself again while the worker reads it (a refresh in <noscript>), then stops
    await page.goto("/documents");
    await expect(page.getByTestId("doc-status")).toHaveText(["Ready"], { timeout: 30_000 });
    await expect(page.locator("noscript")).toHaveCount(0);
    await page.goto("/search");
    await page.getByLabel("Search your documents").fill("where did I put the spare keys");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect(page.getByTestId("result")).toContainText("keys");
  });
});

test("files dropped anywhere on the page are listed, sent with progress, and a slow one can be cancelled", async ({ page }) => {
  const errors = watchForErrors(page);
  await signUp(page, uniqueEmail("drop"), "Dropper");
  await page.goto("/documents");
  await hydrated(page);
  // dropped on the page's heading, not on the form
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["The ladder hangs in the garage, on the left wall."], "ladder.txt", { type: "text/plain" }));
    dt.items.add(new File(["a long manual. ".repeat(200_000)], "manual.txt", { type: "text/plain" }));
    document.querySelector("main h1")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  const states = page.getByTestId("upload-file-state");
  await expect(page.getByTestId("upload-file")).toHaveCount(2);
  await expect(page.getByTestId("upload-file").first()).toContainText("ladder.txt");
  // a slow line (200 kB/s up) to watch the 3 MB file go, then stop it
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 200 * 1024 });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(states).toHaveText(["Added; reading it now", /^Sending… \d+%$/]);
  await expect(page.getByRole("button", { name: "Upload", exact: true })).toBeDisabled();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(states).toHaveText(["Added; reading it now", "Cancelled"]);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await expect(page.getByRole("button", { name: "Upload", exact: true })).toBeEnabled();
  // only the first came in; the list shows it without a reload
  await expect(page.getByTestId("document-row")).toHaveCount(1);
  await expect(page.getByTestId("document-row")).toContainText("ladder");
  expect(errors).toEqual([]);
});
