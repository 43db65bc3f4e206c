import { test, expect } from "@playwright/test";
import { hydrated, PASSWORD, signIn, signUp, uniqueEmail, watchForErrors } from "./helpers";

test("sign up, land on the dashboard, stay signed in across a reload, sign out", async ({ page }) => {
  const errors = watchForErrors(page);
  const email = uniqueEmail("journey");
  await signUp(page, email, "Ada Lovelace");

  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("who-am-i")).toHaveText("Ada Lovelace");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();

  await page.reload();
  await expect(page.getByTestId("greeting")).toHaveText("Welcome, Ada Lovelace");
  await expect(page.getByText(email)).toBeVisible();

  await hydrated(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  // the session is gone on the server too: a fresh load of a page goes to sign-in
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  expect(errors).toEqual([]);
});

test("the show-password button works once the page has hydrated", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.goto("/login");
  await hydrated(page);
  const password = page.getByLabel("Password", { exact: true });
  await password.fill("secret words");
  await expect(password).toHaveAttribute("type", "password");
  const toggle = page.getByRole("button", { name: "Show" });
  await toggle.click();
  await expect(password).toHaveAttribute("type", "text");
  await expect(page.getByRole("button", { name: "Hide" })).toHaveAttribute("aria-pressed", "true");
  expect(errors).toEqual([]);
});

test("a wrong password gets a clear message and keeps the user on the form", async ({ page }) => {
  const email = uniqueEmail("wrongpw");
  await signUp(page, email, "Grace");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await signIn(page, email, "not the password");
  await expect(page.getByTestId("form-error")).toHaveText("That email and password do not match an account.");
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
});

test("signing up twice with one email is refused with a helpful message", async ({ page }) => {
  const email = uniqueEmail("dup");
  await signUp(page, email, "First");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email.toUpperCase());
  await page.getByLabel("Your name").fill("Second");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("form-error")).toContainText("already exists");
});

test("a protected page sends you to sign in and brings you back", async ({ page }) => {
  const email = uniqueEmail("next");
  await signUp(page, email, "Katherine");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto("/documents");
  await expect(page).toHaveURL(/\/login\?next=\/documents$/);
  await signIn(page, email);
  await expect(page).toHaveURL(/\/documents$/);
  await expect(page.getByRole("heading", { name: "Documents" })).toBeVisible();
});

test("an unknown address shows the 404 page", async ({ page }) => {
  await signUp(page, uniqueEmail("lost"), "Lost");
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("at phone width the navigation folds behind a Menu button", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await signUp(page, uniqueEmail("phone"), "Mary");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  await expect(nav).toBeVisible();
  await nav.getByRole("link", { name: "Inventory" }).click();
  await expect(page).toHaveURL(/\/inventory$/);
  await expect(nav).toBeHidden();
});

test("the keyboard reaches the form and submits it", async ({ page }) => {
  const email = uniqueEmail("keys");
  await signUp(page, email, "Keys");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByLabel("Email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("greeting")).toHaveText("Welcome, Keys");
});

test("delete the account: the password is asked again, then everything is gone", async ({ page }) => {
  const errors = watchForErrors(page);
  const email = uniqueEmail("leaver");
  await signUp(page, email, "Leaving Soon");
  await page.getByTestId("who-am-i").click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await hydrated(page);

  // the archive of everything: asked for, made in the background, the page follows it
  await page.getByRole("button", { name: "Make an archive of everything" }).click();
  await expect(page.getByTestId("archive-state")).toContainText("is ready", { timeout: 20_000 });
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: /Download/ }).click();
  expect((await download).suggestedFilename()).toMatch(/^bartleby-archive-.*\.zip$/);

  const password = page.getByLabel("Your password, to confirm");
  const remove = page.getByRole("button", { name: "Delete my account and everything in it" });
  await password.fill("not my password");
  await remove.click();
  await expect(page.getByTestId("form-error")).toHaveText("That is not your password.");

  await password.fill(PASSWORD);
  await remove.click();
  await expect(page).toHaveURL(/\/login\?deleted=1$/);
  await expect(page.getByTestId("account-deleted")).toBeVisible();

  await signIn(page, email, PASSWORD);
  await expect(page.getByTestId("form-error")).toContainText("do not match");
  expect(errors).toEqual([]);
});

test("after a navigation the keyboard starts at the top of the new page, one Tab from skipping to its content", async ({ page }) => {
  await signUp(page, uniqueEmail("focus"), "Focus");
  await hydrated(page);
  // links load whole pages: focus leaves the header link that was clicked
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Documents" }).click();
  await expect(page).toHaveURL(/\/documents$/);
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  // the next Tab is inside the page, past the header
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.querySelector("main")!.contains(document.activeElement))).toBe(true);
});
