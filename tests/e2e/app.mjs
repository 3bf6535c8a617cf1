// Drives the built desktop app through tauri-driver (WebKitWebDriver) with
// WebdriverIO's standalone `remote()`. Each `openApp()` launches a fresh app process;
// the app data of the whole run lives in the private HOME that .ci/e2e sets up.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { remote } from "webdriverio";

const here = path.dirname(fileURLToPath(import.meta.url));
export const APP = process.env.APP_BINARY ?? path.resolve(here, "../../target/release/penguin-admin-desktop");
const DRIVER = process.env.TAURI_DRIVER ?? "tauri-driver";
const PORT = 4444;
export const SCREENSHOTS = path.join(here, "screenshots");

export const DEMO_PASSWORD = "penguin-demo-2026";
export const demoEmail = (role) => `${role}@penguinmails.demo`;

let driver;

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts tauri-driver once for the whole run. */
export async function startDriver() {
  if (await portOpen(PORT)) throw new Error(`port ${PORT} is already taken: is another tauri-driver running?`);
  driver = spawn(DRIVER, ["--port", String(PORT)], { stdio: ["ignore", "inherit", "inherit"] });
  driver.once("error", (error) => {
    throw new Error(`could not start tauri-driver (${DRIVER}): ${error.message}`);
  });
  for (let i = 0; i < 100; i++) {
    if (await portOpen(PORT)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("tauri-driver did not start listening within 10 s");
}

export function stopDriver() {
  driver?.kill();
}

/** Launches the app in a new window and returns its WebDriver session. */
export async function openApp() {
  return remote({
    hostname: "127.0.0.1",
    port: PORT,
    logLevel: "warn",
    connectionRetryCount: 0,
    capabilities: {
      browserName: "wry",
      "wdio:enforceWebDriverClassic": true,
      "tauri:options": { application: APP },
    },
  });
}

export const testId = (id) => `[data-testid="${id}"]`;

/** The text of the first element matching `selector` ("" when none): read in the page,
 *  since WebKitWebDriver's element text comes back empty for some elements. */
export async function textOf(browser, selector) {
  return browser.execute((sel) => document.querySelector(sel)?.textContent ?? "", selector);
}

/** The texts of every element matching `selector`. */
export async function textsOf(browser, selector) {
  return browser.execute((sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent ?? ""), selector);
}

export async function shot(browser, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let the last state change paint (and drawers finish sliding) before capturing.
  await browser.pause(400);
  await browser.saveScreenshot(path.join(SCREENSHOTS, `${name}.png`));
}

/** Types into an input after clearing it (Mantine inputs are controlled). */
export async function typeInto(browser, selector, text) {
  const input = await browser.$(selector);
  await input.waitForDisplayed({ timeout: 20_000 });
  await input.click();
  await input.clearValue();
  await input.setValue(text);
}

export async function signIn(browser, email, password) {
  await browser.$(testId("signin-screen")).waitForDisplayed({ timeout: 30_000 });
  await typeInto(browser, testId("email"), email);
  await typeInto(browser, testId("password"), password);
  await browser.$(testId("sign-in")).click();
}

/** Waits for the shell and for the sync it starts after sign-in to finish. */
export async function waitForSync(browser, timeout = 180_000) {
  await browser.$(testId("tenants-screen")).waitForDisplayed({ timeout: 30_000 });
  await browser.waitUntil(
    async () => (await browser.$(testId("sync-status")).isExisting()) && !["", "never"].includes(await textOf(browser, testId("last-sync"))),
    { timeout, interval: 500, timeoutMsg: "the sync did not finish" },
  );
}

/** Opens a tenant's drawer; `members: false` for a role that sees no members there. */
export async function openTenant(browser, name, id, { members = true } = {}) {
  await typeInto(browser, testId("tenant-search"), name);
  const row = browser.$(`${testId("tenant-row")}[data-tenant-id="${id}"]`);
  await row.waitForDisplayed({ timeout: 20_000 });
  const first = await browser.$(testId("tenant-row")).getAttribute("data-tenant-id");
  if (first === id) await browser.keys("Enter");
  else await row.click();
  const body = browser.$(`${testId("tenant-detail-body")}[data-tenant-id="${id}"]`);
  await body.waitForDisplayed({ timeout: 20_000 });
  if (members) await browser.$(testId("member-row")).waitForDisplayed({ timeout: 20_000 });
}

export async function memberEmails(browser) {
  return textsOf(browser, testId("member-email"));
}

/** The demo's PostgreSQL data directory: the throwaway cluster lives under TMPDIR,
 *  which .ci/e2e points into the run's private directory. */
function demoDataDir() {
  const base = process.env.TMPDIR ?? "/tmp";
  for (const entry of readdirSync(base)) {
    const dir = path.join(base, entry, "data");
    if (entry.startsWith("penguin-pg-cluster-") && existsSync(path.join(dir, "postmaster.pid"))) return dir;
  }
  throw new Error(`no running demo cluster under ${base}`);
}

/** Runs a PostgreSQL server tool as the postgres user (the tests run as root in CI). */
function pgTool(args) {
  const pgCtl = readdirSync("/usr/lib/postgresql").map((v) => `/usr/lib/postgresql/${v}/bin/pg_ctl`).find(existsSync);
  if (!pgCtl) throw new Error("pg_ctl not found under /usr/lib/postgresql");
  const asRoot = process.getuid?.() === 0;
  execFileSync(asRoot ? "/usr/sbin/runuser" : pgCtl, asRoot ? ["-u", "postgres", "--", pgCtl, ...args] : args, { stdio: "pipe" });
}

/** Stops the demo's database; returns a function that starts it again with the same options. */
export function stopDemoDatabase() {
  const dir = demoDataDir();
  // postmaster.opts holds the server's command line: `postgres "-D" "DIR" "-p" "PORT" …`.
  const args = [...readFileSync(path.join(dir, "postmaster.opts"), "utf8").matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  const options = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-D") i++;
    else options.push(/\s/.test(args[i]) ? `'${args[i]}'` : args[i]);
  }
  pgTool(["-D", dir, "-m", "fast", "-w", "stop"]);
  return () => pgTool(["-D", dir, "-o", options.join(" "), "-l", path.join(dir, "server.log"), "-w", "start"]);
}

/** Closes the toasts in the corner, which can sit over the buttons a step clicks next. */
export async function dismissNotifications(browser) {
  await browser.execute(() => document.querySelectorAll(".mantine-Notification-closeButton").forEach((b) => b.click()));
  await browser.pause(400);
}

/** Opens a screen from the sidebar and waits for it. */
export async function goTo(browser, screen) {
  await browser.$(testId(`nav-${screen}`)).waitForClickable({ timeout: 30_000 });
  await browser.$(testId(`nav-${screen}`)).click();
  await browser.$(testId(`${screen}-screen`)).waitForDisplayed({ timeout: 30_000 });
}

/** The badges on the page whose label is cut ("acti…"): read in the page, a badge or its
 *  label clips when its content is wider than its box. */
export async function clippedBadges(browser) {
  return browser.execute(() =>
    [...document.querySelectorAll(".mantine-Badge-root")]
      .filter((b) => b.getClientRects().length > 0)
      .filter((b) => [b, b.querySelector(".mantine-Badge-label")].some((e) => e && e.scrollWidth > e.clientWidth + 1))
      .map((b) => `${b.textContent} (${b.scrollWidth} > ${b.clientWidth})`),
  );
}

/** Elements matching `selector` wider than the window (a table running past the edge). */
export async function pastTheEdge(browser, selector) {
  return browser.execute(
    (sel) =>
      [...document.querySelectorAll(sel)]
        .filter((e) => e.getClientRects().length > 0 && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map((e) => `${e.getAttribute("data-testid") ?? e.tagName} ends at ${Math.round(e.getBoundingClientRect().right)} px`),
    selector,
  );
}

/** Opens the Ctrl+K palette, searches `text` and picks the result of that kind and id. */
export async function jumpTo(browser, text, kind, id) {
  await browser.$(testId("open-palette")).waitForClickable({ timeout: 20_000 });
  await browser.$(testId("open-palette")).click();
  await typeInto(browser, testId("palette-input"), text);
  const hit = browser.$(`${testId("palette-hit")}[data-kind="${kind}"][data-id="${id}"]`);
  await hit.waitForDisplayed({ timeout: 20_000, timeoutMsg: `no ${kind} ${id} in the palette for "${text}"` });
  await hit.click();
  await browser.$(testId("palette-input")).waitForDisplayed({ reverse: true, timeout: 10_000, timeoutMsg: "the palette did not close" });
}
