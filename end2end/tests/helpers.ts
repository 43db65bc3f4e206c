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
