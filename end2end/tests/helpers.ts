import { expect, Page } from "@playwright/test";

export const PASSWORD = "correct horse battery";

export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Fails the test on any console error, page error or failed request. */
export function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !expected(m.text())) errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => {
    if (r.status() >= 500) errors.push(`${r.status()} ${r.url()}`);
  });
  return errors;
}

// A wrong password answers 422, which the browser logs as a failed resource load.
function expected(text: string): boolean {
  return /status of (401|409|422|429)/.test(text);
}

export async function hydrated(page: Page) {
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
}

export async function signUp(page: Page, email: string, name: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("greeting")).toHaveText(`Welcome, ${name}`);
}

export async function signIn(page: Page, email: string, password = PASSWORD) {
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/**
 * A PNG of lines of text, drawn by the browser itself: a photographed receipt or rating plate,
 * made here so the tests ship no binary fixture.
 */
export async function textPng(
  page: Page,
  lines: { text: string; font: string }[],
  { width, height, degrees = 0, background = "#fff" }: { width: number; height: number; degrees?: number; background?: string },
): Promise<Buffer> {
  const base64 = await page.evaluate(
    ({ lines, width, height, degrees, background }) => {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const g = canvas.getContext("2d")!;
      g.fillStyle = background;
      g.fillRect(0, 0, width, height);
      g.rotate((degrees * Math.PI) / 180);
      g.fillStyle = "#111";
      let y = 40;
      for (const line of lines) {
        g.font = line.font;
        const size = parseInt(/(\d+)px/.exec(line.font)?.[1] ?? "40", 10);
        y += size * 1.7;
        g.fillText(line.text, 60, y);
      }
      return canvas.toDataURL("image/png").split(",")[1];
    },
    { lines, width, height, degrees, background },
  );
  return Buffer.from(base64, "base64");
}

/**
 * A PDF whose pages are only pictures (as a scanner makes them, with no text layer): each page's
 * lines drawn by the browser as a JPEG, then put on a Letter page.
 */
export async function scannedPdf(page: Page, pages: string[][]): Promise<Buffer> {
  const jpegs: Buffer[] = [];
  for (const lines of pages) {
    const base64 = await page.evaluate((lines) => {
      const canvas = document.createElement("canvas");
      canvas.width = 1275; // 8.5 × 11 inches at 150 dpi
      canvas.height = 1650;
      const g = canvas.getContext("2d")!;
      g.fillStyle = "#fff";
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.fillStyle = "#111";
      g.font = "34px serif";
      lines.forEach((line, i) => g.fillText(line, 150, 200 + i * 60));
      return canvas.toDataURL("image/jpeg", 0.85).split(",")[1];
    }, lines);
    jpegs.push(Buffer.from(base64, "base64"));
  }
  const objects: Buffer[] = [
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from(`<< /Type /Pages /Kids [${jpegs.map((_, i) => `${3 + 3 * i} 0 R`).join(" ")}] /Count ${jpegs.length} >>`),
  ];
  jpegs.forEach((jpeg, i) => {
    const content = "q 612 0 0 792 0 0 cm /Im1 Do Q";
    objects.push(
      Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${4 + 3 * i} 0 R /Resources << /XObject << /Im1 ${5 + 3 * i} 0 R >> >> >>`),
      Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`),
      Buffer.concat([
        Buffer.from(`<< /Type /XObject /Subtype /Image /Width 1275 /Height 1650 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`),
        jpeg,
        Buffer.from("\nendstream"),
      ]),
    );
  });
  const parts: Buffer[] = [Buffer.from("%PDF-1.4\n")];
  let length = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(length);
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from("\nendobj\n")]);
    parts.push(obj);
    length += obj.length;
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`)].join("");
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(parts);
}
