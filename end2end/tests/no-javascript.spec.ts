import { test, expect } from "@playwright/test";
import { PASSWORD, uniqueEmail } from "./helpers";

// Before the WASM has loaded (slow link, or JavaScript off) the forms are plain HTML forms.
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign up, sign out, a wrong password is explained, sign in", async ({ page }) => {
    const email = uniqueEmail("nojs");
    await page.goto("/signup");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Your name").fill("Plain Form");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("greeting")).toHaveText("Welcome, Plain Form");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/login\?error=password/);
    await expect(page.getByTestId("form-error")).toHaveText("That email and password do not match an account.");

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("greeting")).toHaveText("Welcome, Plain Form");
  });

  test("a taken email is explained on the sign-up form", async ({ page }) => {
    const email = uniqueEmail("nojs-dup");
    for (const name of ["First", "Second"]) {
      await page.context().clearCookies();
      await page.goto("/signup");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Your name").fill(name);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
    }
    await expect(page).toHaveURL(/\/signup\?error=exists/);
    await expect(page.getByTestId("form-error")).toContainText("already exists");
  });
});
