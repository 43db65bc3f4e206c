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

  test("at phone width the Menu button shows the navigation", async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto("/signup");
    await page.getByLabel("Email").fill(uniqueEmail("nojs-menu"));
    await page.getByLabel("Your name").fill("Menu");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    const inventory = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inventory" });
    await expect(inventory).toBeHidden();
    await page.getByRole("button", { name: "Menu" }).click();
    await inventory.click();
    await expect(page).toHaveURL(/\/inventory$/);
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

  test("the inventory: add items, sort and filter the table", async ({ page }) => {
    await page.goto("/signup");
    await page.getByLabel("Email").fill(uniqueEmail("nojs-inv"));
    await page.getByLabel("Your name").fill("Plain Table");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    for (const [name, category] of [["Zither", "Music"], ["Anvil", "Tools"], ["Mallet", "Tools"]]) {
      await page.goto("/inventory/new");
      await page.getByLabel("Name", { exact: true }).fill(name);
      await page.getByLabel("Category").fill(category);
      await page.getByRole("button", { name: "Save item" }).click();
      await expect(page.getByTestId("item-name")).toHaveText(name);
    }
    await page.goto("/inventory");
    const names = page.locator("table.items tbody tr td.name");
    await page.getByRole("link", { name: "Name" }).click();
    await expect(names).toHaveText(["Anvil", "Mallet", "Zither"]);
    await page.getByLabel("Category", { exact: true }).selectOption("Tools");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page).toHaveURL(/category=Tools/);
    await expect(names).toHaveText(["Anvil", "Mallet"]);
  });
});
