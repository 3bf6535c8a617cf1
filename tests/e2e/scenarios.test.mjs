// The desktop app end to end, in a real window, in order: the first scenario creates
// the demo profile the others reuse (the app remembers the last profile).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { clippedBadges, DEMO_PASSWORD, demoEmail, dismissNotifications, goTo, jumpTo, memberEmails, openApp, openTenant, pastTheEdge, shot, signIn, startDriver, stopDemoDatabase, stopDriver, testId, textOf, textsOf, typeInto, waitForSync } from "./app.mjs";

/** The tenant the admin opened, for the support scenario to compare with. */
const seen = { id: "", name: "", emails: [], sessionUser: "", sessionUserId: "" };

/** Runs a scenario in a freshly launched app; on failure, screenshots the window. */
async function withApp(name, body) {
  const browser = await openApp();
  try {
    await body(browser);
  } catch (error) {
    await shot(browser, `${name}-failed`).catch(() => {});
    throw error;
  } finally {
    await browser.deleteSession().catch(() => {});
  }
}

describe("PenguinMails Admin desktop app", { concurrency: false }, () => {
  before(startDriver);
  after(stopDriver);

  it("starts the demo, signs in as admin, syncs, searches and opens a tenant's members", async () => {
    await withApp("admin", async (browser) => {
      await browser.$(testId("choose-demo")).waitForClickable({ timeout: 30_000 });
      await shot(browser, "00-first-run");
      await browser.$(testId("choose-demo")).click();
      await browser.$(testId("start-demo")).click();
      // The demo accounts are offered on the first sign-in screen, not only after a sign-out.
      await browser.$(testId("signin-screen")).waitForDisplayed({ timeout: 120_000 });
      await browser.$(testId("demo-accounts")).waitForDisplayed({ timeout: 5_000, timeoutMsg: "the demo accounts are not offered right after starting the demo" });
      const size = await browser.execute(() => [window.innerWidth, window.innerHeight]);
      console.log(`window: ${size[0]}×${size[1]}`);
      await shot(browser, "00b-demo-sign-in");
      await signIn(browser, demoEmail("admin"), DEMO_PASSWORD);
      await waitForSync(browser);
      await shot(browser, "01-admin-tenants");

      // The tenant with the most members (sorted in SQL), found again by searching its name.
      await browser.$(testId("sort-members")).click();
      const top = browser.$(testId("tenant-row"));
      await browser.waitUntil(async () => (await browser.$(testId("sort-members")).getAttribute("aria-sort")) === "descending");
      await top.waitForDisplayed();
      seen.id = await top.getAttribute("data-tenant-id");
      seen.name = (await textOf(browser, `${testId("tenant-row")} [role="gridcell"]`)).trim();
      assert.ok(seen.id && seen.name, "the list shows a tenant");

      await openTenant(browser, seen.name, seen.id);
      seen.emails = await memberEmails(browser);
      assert.ok(seen.emails.length > 0, "the tenant has members");
      for (const email of seen.emails) assert.match(email, /^[^\s•]+@[^\s•]+\.[a-z]+$/i, "admin sees real emails");
      await shot(browser, "02-admin-tenant-members");

      // Admin may change a member's tenant role: make the first plain admin a member.
      assert.ok(await browser.$(testId("tenant-actions")).isExisting(), "admin sees the member actions");
      const roles = await textsOf(browser, testId("member-roles"));
      const index = roles.findIndex((r) => r.includes("admin") && !r.includes("owner"));
      assert.ok(index >= 0, "the tenant has an admin who is not an owner");
      const changed = seen.emails[index];
      await (await browser.$$(testId("member-row")))[index].$(testId("member-role-menu")).click();
      await browser.$(testId("member-role-member")).click();
      // Let the confirmation dialog finish opening: a click during its transition is lost.
      await browser.$(testId("confirm-role-change")).waitForClickable({ timeout: 10_000 });
      await browser.pause(500);
      await browser.$(testId("confirm-role-change")).click();
      await browser.waitUntil(async () => (await textOf(browser, "body")).includes("Role changed"), {
        timeout: 30_000,
        timeoutMsg: "no confirmation of the role change",
      });
      // Members are listed by role, so the changed member is found again by email.
      let roleShown = "";
      await browser.waitUntil(async () => {
        const emails = await memberEmails(browser);
        const role = (await textsOf(browser, testId("member-roles")))[emails.indexOf(changed)] ?? "";
        roleShown = `${changed} at ${emails.indexOf(changed)} of ${emails.length}: ${role}`;
        return role.includes("member") && !role.includes("admin");
      }, { timeout: 15_000 }).catch(() => assert.fail(`the member's role did not change on screen (${roleShown})`));

      // Remove an active member who is not an owner (the ex-employee workflow): type their
      // email, hand their work to the first owner; they stay listed, as removed.
      const emails = await memberEmails(browser);
      const statuses = await textsOf(browser, testId("member-status"));
      const rolesNow = await textsOf(browser, testId("member-roles"));
      const victim = emails.findIndex((e, i) => statuses[i] === "active" && !rolesNow[i].includes("owner") && e !== changed);
      assert.ok(victim >= 0, "the tenant has another active member who is not an owner");
      seen.removed = emails[victim];
      await dismissNotifications(browser);
      await (await browser.$$(testId("member-row")))[victim].$(testId("member-actions")).click();
      await browser.$(testId("member-remove")).waitForClickable({ timeout: 10_000 });
      await browser.$(testId("member-remove")).click();
      await browser.$(testId("removal-confirm-email")).waitForClickable({ timeout: 10_000 });
      await browser.pause(500);
      await browser.$(testId("removal-heir")).click();
      await browser.$('[role="option"]').waitForClickable({ timeout: 10_000 });
      await browser.$('[role="option"]').click();
      await typeInto(browser, testId("removal-confirm-email"), "someone-else@example.com");
      assert.ok(!(await browser.$(testId("confirm-removal")).isEnabled()), "a wrong email does not confirm");
      await typeInto(browser, testId("removal-confirm-email"), seen.removed);
      await shot(browser, "02b-admin-remove-member");
      await browser.$(testId("confirm-removal")).click();
      await browser.waitUntil(async () => (await textOf(browser, "body")).includes("Member removed"), {
        timeout: 30_000,
        timeoutMsg: "no confirmation of the removal",
      });
      let shown = "";
      await browser.waitUntil(async () => {
        const now = await memberEmails(browser);
        shown = `${seen.removed} at ${now.indexOf(seen.removed)} of ${now.length}: ${(await textsOf(browser, testId("member-status")))[now.indexOf(seen.removed)]}`;
        return shown.endsWith(": removed");
      }, { timeout: 15_000 }).catch(() => assert.fail(`the removed member is not shown as removed (${shown})`));
      await shot(browser, "02c-admin-member-removed");
      seen.emails = await memberEmails(browser);

      // The flags table at 1280 px: every badge whole, before and after a tenant override.
      await dismissNotifications(browser);
      await browser.$(testId("tab-flags")).click();
      await browser.$(testId("flag-row")).waitForDisplayed({ timeout: 20_000 });
      assert.deepEqual(await clippedBadges(browser), [], "no flag badge is cut");
      await browser.$(testId("flag-change")).click();
      await browser.$(testId("flag-value")).waitForClickable({ timeout: 10_000 });
      await browser.pause(500);
      await browser.$(testId("flag-value")).click();
      await browser.$('[role="option"]').waitForDisplayed({ timeout: 10_000 });
      // The first choice other than the platform's value: an override either way.
      await browser.execute(() => [...document.querySelectorAll('[role="option"]')].find((o) => !(o.textContent ?? "").startsWith("Platform"))?.click());
      await typeInto(browser, testId("flag-reason"), "Beta access for the pilot, ticket E2E-19");
      await browser.$(testId("flag-save")).click();
      await browser.waitUntil(async () => (await textOf(browser, "body")).includes("Flag changed"), { timeout: 30_000, timeoutMsg: "no confirmation of the flag change" });
      await browser.$(testId("flag-row")).waitForDisplayed({ timeout: 20_000 });
      assert.deepEqual(await clippedBadges(browser), [], "no flag badge is cut after an override");
      assert.deepEqual(await pastTheEdge(browser, `${testId("tenant-flags")}, ${testId("tenant-detail-body")}`), [], "the flags table stays inside the drawer");
      await shot(browser, "02d-admin-flags-override");

      // The plan-override form shows the plan's value beside each limit and warns far above it.
      await dismissNotifications(browser);
      await browser.$(testId("tab-settings")).click();
      await browser.$(testId("override-add")).waitForClickable({ timeout: 20_000 });
      await browser.$(testId("override-add")).click();
      await browser.$(testId("override-form")).waitForDisplayed({ timeout: 10_000 });
      await browser.pause(500);
      const planValues = await browser.execute(() =>
        [...document.querySelectorAll('[data-testid^="override-limit-"]')].map((input) => ({
          id: input.getAttribute("data-testid"),
          plan: input.closest(".mantine-InputWrapper-root")?.querySelector(".mantine-InputWrapper-description")?.textContent ?? "",
        })),
      );
      assert.equal(planValues.length, 7, "one field per limit");
      for (const f of planValues) assert.match(f.plan, /^Plan: (Unlimited|[\d,]+)$/, `${f.id} shows the plan's value`);
      const limited = planValues.find((f) => /\d/.test(f.plan));
      if (limited) {
        const planValue = Number(limited.plan.replace(/[^0-9]/g, ""));
        await typeInto(browser, testId(limited.id), String(Math.max(planValue, 1) * 10 + 1));
        await browser.$(testId("override-far-above")).waitForDisplayed({ timeout: 10_000, timeoutMsg: "no warning for a limit over 10× the plan's" });
        await shot(browser, "02e-admin-override-warning");
        await typeInto(browser, testId(limited.id), String(planValue));
        await browser.$(testId("override-far-above")).waitForDisplayed({ reverse: true, timeout: 10_000 });
      } else {
        console.log("the tenant's plan is unlimited everywhere: no limit to exceed");
      }
      await browser.$(`${testId("override-form")} ${testId("dialog-cancel")}`).click();
      await browser.$(testId("override-form")).waitForDisplayed({ reverse: true, timeout: 10_000 });
      await browser.pause(500);

      await browser.keys("Escape");
      await browser.$(testId("tenant-detail-body")).waitForDisplayed({ reverse: true, timeout: 5_000 });
    });
  });

  it("finds a user across tenants and revokes their sessions", async () => {
    assert.ok(seen.emails.length, "needs the members the admin scenario saw");
    await withApp("users", async (browser) => {
      await signIn(browser, demoEmail("admin"), DEMO_PASSWORD);
      await goTo(browser, "users");
      await browser.$(testId("user-row")).waitForDisplayed({ timeout: 20_000 });
      assert.deepEqual(await clippedBadges(browser), [], "no user status badge is cut");
      await shot(browser, "03a-admin-users");
      // The first member with a session: search each email until one has sessions.
      for (const email of seen.emails.slice(0, 10)) {
        await typeInto(browser, testId("user-search"), email);
        await browser.waitUntil(async () => (await textOf(browser, testId("user-email"))) === email, { timeout: 10_000 });
        await browser.keys("Enter");
        await browser.$(testId("user-detail-body")).waitForDisplayed({ timeout: 10_000 });
        await browser.$(testId("tab-sessions")).click();
        if (await browser.$(testId("revoke-all-sessions")).isExisting()) {
          seen.sessionUser = email;
          seen.sessionUserId = await browser.$(testId("user-detail-body")).getAttribute("data-user-id");
          break;
        }
        await browser.keys("Escape");
        await browser.$(testId("user-detail-body")).waitForDisplayed({ reverse: true, timeout: 5_000 });
      }
      assert.ok(seen.sessionUser, "one of the first ten members has an active session");
      assert.ok((await browser.$$(testId("session-row")).length) > 0);
      await shot(browser, "03-admin-user-sessions");
      const auditCount = async () => Number(/\((\d+)\)/.exec(await textOf(browser, testId("tab-audit")))?.[1]);
      const auditBefore = await auditCount();
      await browser.$(testId("revoke-all-sessions")).click();
      await browser.waitUntil(async () => (await textOf(browser, "body")).includes("Sessions revoked"), {
        timeout: 30_000,
        timeoutMsg: "no confirmation that the sessions were revoked",
      });
      // Revoked database sessions disappear; a JWT session stays listed as valid until expiry.
      await browser.waitUntil(async () => (await textsOf(browser, testId("session-row"))).every((row) => row.includes("revoked")), {
        timeout: 15_000,
        timeoutMsg: "a session is still listed as active after revoking all",
      });
      // The revocation's audit entry reaches the user's audit trail after the sync that follows it.
      await browser.waitUntil(async () => (await auditCount()) === auditBefore + 1, {
        timeout: 30_000,
        timeoutMsg: "the revocation did not appear in the user's audit trail",
      });
      await shot(browser, "04-admin-sessions-revoked");
      await browser.keys("Escape");
      await browser.$(testId("user-detail-body")).waitForDisplayed({ reverse: true, timeout: 5_000 });
      await browser.pause(500);

      // Workspaces, worst health first: the first one's trend is a plotters chart.
      await browser.$(testId("nav-workspaces")).click();
      await browser.$(testId("workspace-row")).waitForDisplayed({ timeout: 20_000 });
      // The worst one that is not deleted. WebKitWebDriver does not click table rows: click a cell.
      const pick = (await textsOf(browser, testId("workspace-row"))).findIndex((t) => !t.includes("deleted"));
      const picked = (await browser.$$(testId("workspace-row")))[pick];
      const wsId = await picked.getAttribute("data-workspace-id");
      await picked.$("td").click();
      await browser.$(testId("health-chart")).waitForDisplayed({ timeout: 20_000 });
      const alt = await browser.$(testId("health-chart")).getAttribute("alt");
      assert.match(alt, /\d{4}-\d{2}-\d{2} \d+/, "the chart has the demo's daily scores");
      assert.ok(await browser.$(testId("danger-zone")).isExisting(), "admin sees the danger zone");
      await shot(browser, "05-admin-workspace-health");

      // Delete it after typing its name, then restore it.
      const wsRow = `${testId("workspace-row")}[data-workspace-id="${wsId}"]`;
      const wsName = (await textOf(browser, `${wsRow} td p`)).trim();
      await dismissNotifications(browser);
      await browser.$(testId("delete-workspace")).click();
      await browser.$(testId("confirm-name")).waitForClickable({ timeout: 20_000 });
      await browser.pause(500);
      await typeInto(browser, testId("confirm-name"), `${wsName} (typo)`);
      await typeInto(browser, testId("delete-reason"), "Client closed this brand (e2e)");
      assert.ok(!(await browser.$(testId("confirm-delete")).isEnabled()), "a wrong name does not confirm");
      await typeInto(browser, testId("confirm-name"), wsName);
      await shot(browser, "05b-admin-delete-workspace");
      await browser.$(testId("confirm-delete")).click();
      await browser.waitUntil(async () => (await textOf(browser, "body")).includes("Workspace deleted"), {
        timeout: 30_000,
        timeoutMsg: "no confirmation of the deletion",
      });
      // Read in the page: an element handle goes stale while the drawer unmounts it.
      await browser.waitUntil(async () => !(await browser.execute((sel) => document.querySelector(sel) !== null, testId("danger-zone"))), {
        timeout: 10_000,
        timeoutMsg: "the workspace drawer did not close after the deletion",
      });
      // Let the drawer's overlay fade out: a click while it does lands on the overlay.
      await browser.pause(1000);
      await typeInto(browser, testId("workspace-search"), wsName);
      await browser.waitUntil(async () => (await textOf(browser, wsRow)).includes("deleted"), {
        timeout: 20_000,
        timeoutMsg: "the workspace is not listed as deleted",
      });
      await browser.pause(500);
      await browser.$(`${wsRow} td`).click();
      await browser.$(testId("restore-workspace")).waitForClickable({ timeout: 20_000 });
      await dismissNotifications(browser);
      await browser.$(testId("restore-workspace")).click();
      await browser.waitUntil(async () => (await textOf(browser, "body")).includes("Workspace restored"), {
        timeout: 30_000,
        timeoutMsg: "no confirmation of the restore",
      });
      await browser.waitUntil(async () => !(await textOf(browser, wsRow)).includes("deleted"), {
        timeout: 20_000,
        timeoutMsg: "the workspace is still listed as deleted",
      });
      await shot(browser, "05c-admin-workspace-restored");

      // Ctrl+K: a workspace result opens that workspace, a user result that user.
      await browser.keys("Escape");
      await browser.waitUntil(async () => !(await browser.execute((sel) => document.querySelector(sel) !== null, testId("workspace-drawer-body"))), { timeout: 10_000 });
      await browser.pause(1000);
      await goTo(browser, "tenants");
      // By its id: a name can match more workspaces than the palette lists.
      await jumpTo(browser, wsId, "workspace", wsId);
      await browser.$(`${testId("workspace-drawer-body")}[data-workspace-id="${wsId}"]`).waitForDisplayed({ timeout: 20_000, timeoutMsg: "the workspace result did not open the workspace" });
      assert.ok(await browser.$(testId("workspaces-screen")).isDisplayed(), "on the Workspaces screen");
      assert.ok(!(await browser.$(testId("tenant-detail-body")).isExisting()), "not the tenant's drawer");
      await shot(browser, "05e-admin-palette-workspace");
      await browser.keys("Escape");
      await browser.waitUntil(async () => !(await browser.execute((sel) => document.querySelector(sel) !== null, testId("workspace-drawer-body"))), { timeout: 10_000 });
      await browser.pause(1000);
      await jumpTo(browser, seen.sessionUser, "user", seen.sessionUserId);
      await browser.$(`${testId("user-detail-body")}[data-user-id="${seen.sessionUserId}"]`).waitForDisplayed({ timeout: 20_000, timeoutMsg: "the user result did not open the user" });
      assert.ok(await browser.$(testId("users-screen")).isDisplayed(), "on the Users screen");
      await shot(browser, "05f-admin-palette-user");
      // The next admin sign-in opens here (the offline scenario checks it): let it be stored.
      await browser.pause(1500);
    });
  });

  it("shows support a tenant's members only under a ticketed grant, emails masked", async () => {
    assert.ok(seen.id, "needs the tenant the admin scenario opened");
    await withApp("support", async (browser) => {
      await signIn(browser, demoEmail("support"), DEMO_PASSWORD);
      await browser.$(testId("tenants-screen")).waitForDisplayed({ timeout: 30_000 });
      await waitForSync(browser);
      // Without a grant the database gave support's cache none of the tenant's members.
      await openTenant(browser, seen.name, seen.id, { members: false });
      await browser.waitUntil(async () => (await textOf(browser, testId("tenant-detail-body"))).includes("not in your cache"), {
        timeout: 10_000,
        timeoutMsg: "support without a grant is not told why the members are missing",
      });
      assert.ok(!(await browser.$(testId("member-row")).isExisting()), "no members without a grant");
      await shot(browser, "05-support-no-grant");

      // Open support access with a reason and a ticket: the tenant's members, masked.
      await browser.$(testId("view-as-open")).click();
      await typeInto(browser, testId("view-as-reason"), "Member cannot sign in, checking the team");
      await typeInto(browser, testId("view-as-ticket"), "SUP-4242");
      await browser.$(testId("view-as-submit")).click();
      const modal = `${testId("view-as-modal")}`;
      await browser.$(`${modal} ${testId("member-row")}`).waitForDisplayed({ timeout: 60_000 });
      const emails = await textsOf(browser, `${modal} ${testId("member-email")}`);
      assert.equal(emails.length, seen.emails.length, "support sees the same members");
      for (const email of emails) {
        assert.ok(email.includes("•"), `support sees a masked email, got ${email}`);
        assert.ok(!seen.emails.includes(email), "no real email is shown to support");
      }
      assert.ok(!(await browser.$(testId("nav-audit")).isExisting()), "support has no audit screen");
      for (const id of ["tenant-actions", "member-actions", "member-role-menu", "import-members"]) {
        assert.ok(!(await browser.$(testId(id)).isExisting()), `support sees no ${id}`);
      }
      await shot(browser, "05-support-masked-members");
      await browser.$(testId("view-as-hide")).click();
      await browser.$(testId("view-as-modal")).waitForDisplayed({ reverse: true, timeout: 5_000 });

      // The Users screen finds the same member by email but shows it masked, without actions.
      await browser.keys("Escape");
      await browser.$(testId("tenant-detail-body")).waitForDisplayed({ reverse: true, timeout: 5_000 });
      await browser.$(testId("nav-users")).waitForClickable({ timeout: 30_000 });
      await browser.$(testId("nav-users")).click();
      await typeInto(browser, testId("user-search"), seen.emails[0]);
      await browser.$(testId("user-row")).waitForDisplayed({ timeout: 10_000 });
      const shown = await textOf(browser, testId("user-email"));
      assert.ok(shown.includes("•") && shown !== seen.emails[0], `support sees the user's email masked, got ${shown}`);
      await browser.keys("Enter");
      await browser.$(testId("user-detail-body")).waitForDisplayed({ timeout: 10_000 });
      await browser.$(testId("tab-sessions")).click();
      assert.ok(!(await browser.$(testId("revoke-all-sessions")).isExisting()), "support cannot revoke sessions");

      // The Workspaces screen: the same drawer, members masked, no danger zone, no member actions.
      await browser.keys("Escape");
      await browser.$(testId("user-detail-body")).waitForDisplayed({ reverse: true, timeout: 5_000 });
      await browser.pause(500);
      await browser.$(testId("nav-workspaces")).click();
      await browser.$(testId("workspace-row")).waitForDisplayed({ timeout: 20_000 });
      await browser.$(`${testId("workspace-row")} td`).click();
      await browser.$(testId("health-chart")).waitForDisplayed({ timeout: 20_000 });
      await browser.$(testId("workspace-members")).waitForDisplayed({ timeout: 20_000 });
      for (const id of ["danger-zone", "workspace-member-remove", "workspace-member-add", "delete-workspace"]) {
        assert.ok(!(await browser.$(testId(id)).isExisting()), `support sees no ${id}`);
      }
      for (const row of await textsOf(browser, testId("workspace-member-row"))) {
        assert.ok(!/[^\s•@]+@[^\s•]+\.[a-z]+/i.test(row.replace(/\S*•\S*/g, "")), `a workspace member's email is masked for support: ${row}`);
      }
      await shot(browser, "05d-support-workspace");
    });
  });

  it("locks the account after five wrong passwords and says until when", async () => {
    await withApp("lockout", async (browser) => {
      await browser.$(testId("signin-screen")).waitForDisplayed({ timeout: 30_000 });
      for (let attempt = 1; attempt <= 5; attempt++) {
        await typeInto(browser, testId("email"), demoEmail("qa"));
        await typeInto(browser, testId("password"), `wrong-password-${attempt}`);
        await browser.$(testId("sign-in")).click();
        if (attempt < 5) {
          // The database answers every failure alike: no count of attempts left to probe.
          await browser.waitUntil(async () => (await browser.$(testId("sign-in")).getAttribute("data-loading")) === null && (await browser.$(testId("signin-error")).isExisting()) && /wrong email or password/i.test(await textOf(browser, testId("signin-error"))), {
            timeout: 15_000,
            timeoutMsg: `attempt ${attempt} was not answered "wrong email or password"`,
          });
          assert.ok(!/attempt/i.test(await textOf(browser, testId("signin-error"))), "no remaining-attempts count");
        }
      }
      const locked = browser.$(testId("signin-locked"));
      await locked.waitForDisplayed({ timeout: 15_000 });
      assert.match(await textOf(browser, testId("signin-locked")), /locked until \d{1,2}:\d{2}/i);
      await shot(browser, "06-lockout");
    });
  });

  it("gives finance the Finance screens: Stripe sync, revenue, payments and a partial refund", async () => {
    await withApp("finance", async (browser) => {
      await signIn(browser, demoEmail("finance"), DEMO_PASSWORD);
      // Finance's home is the Finance screen.
      await browser.$(testId("finance-screen")).waitForDisplayed({ timeout: 30_000, timeoutMsg: "finance did not start on the Finance screen" });
      assert.ok(!(await browser.$(testId("tenants-screen")).isExisting()), "finance does not start on Tenants");
      await goTo(browser, "tenants");
      await openTenant(browser, seen.name, seen.id);
      assert.ok(!(await browser.$(testId("tenant-actions")).isExisting()), "finance sees no tenant actions");
      assert.ok(!(await browser.$(testId("member-role-menu")).isExisting()), "finance sees no role menu");
      await browser.keys("Escape");

      // The demo's fake Stripe (real HTTP, built from the demo database) synced into the cache.
      await browser.$(testId("tenant-detail-body")).waitForDisplayed({ reverse: true, timeout: 5_000 });
      await browser.pause(500);
      await goTo(browser, "finance");
      await browser.$(testId("sync-stripe")).waitForClickable({ timeout: 20_000 });
      await browser.$(testId("sync-stripe")).click();
      await browser.$(testId("revenue")).waitForDisplayed({ timeout: 120_000 });
      await browser.$(testId("mrr-trend")).waitForDisplayed({ timeout: 20_000 });
      await browser.$(testId("mrr-chart")).waitForDisplayed({ timeout: 20_000 });
      const chartSize = await browser.execute(() => {
        const img = document.querySelector('[data-testid="mrr-chart"]');
        return img instanceof HTMLImageElement ? img.naturalWidth : 0;
      });
      assert.ok(chartSize > 0, "the MRR chart (plotters SVG) rendered");
      assert.match(await textOf(browser, testId("stripe-as-of")), /just now|min ago/, "the Stripe copy is fresh");
      assert.match(await textOf(browser, testId("payment-success")), /\d+(\.\d+)? %/, "the month's payment success rate is shown");
      await shot(browser, "07-finance-revenue");

      // Subscriptions and failed payments at 1280 px: badges whole, dates whole, nothing past the edge.
      await browser.$(testId("tab-subscriptions")).click();
      await browser.$(testId("subscription-row")).waitForDisplayed({ timeout: 20_000 });
      assert.deepEqual(await clippedBadges(browser), [], "no subscription badge is cut");
      assert.deepEqual(await pastTheEdge(browser, testId("subscriptions")), [], "the subscriptions table fits the window");
      await shot(browser, "07b-finance-subscriptions");
      await browser.$(testId("tab-failed")).click();
      await browser.waitUntil(async () => (await browser.$(testId("failed-row")).isExisting()) || (await browser.$(testId("empty-state")).isExisting()), { timeout: 20_000, timeoutMsg: "the failed payments did not load" });
      assert.deepEqual(await clippedBadges(browser), [], "no failed-payment badge is cut");
      assert.deepEqual(await pastTheEdge(browser, testId("failed-payments")), [], "the failed payments table fits the window");
      const cutDates = await browser.execute(() =>
        [...document.querySelectorAll('[data-testid="failed-at"] p, [data-testid="next-retry"] p, [data-testid="next-retry"]')]
          .filter((e) => e.scrollWidth > e.clientWidth + 1)
          .map((e) => e.textContent),
      );
      assert.deepEqual(cutDates, [], "no failed-payment date is cut");
      await shot(browser, "07c-finance-failed-payments");

      // Payments: filter to succeeded ones, open the first and refund part of it.
      await browser.$(testId("tab-payments")).click();
      await browser.$(testId("payment-row")).waitForDisplayed({ timeout: 20_000 });
      const total = Number((await textOf(browser, testId("payment-total"))).replace(/[^0-9]/g, ""));
      assert.ok(total > 0, "the demo has payments");
      assert.deepEqual(await clippedBadges(browser), [], "no payment status badge is cut");
      for (const id of ["payment-from", "payment-to"]) {
        assert.ok(await browser.$(testId(id)).isExisting(), `${id} is there`);
        assert.equal(await browser.$(testId(id)).getAttribute("data-empty"), "true", `${id} reads as empty`);
      }
      assert.match(await textOf(browser, "body"), /From[\s\S]*To/, "the date filters are labelled");
      await shot(browser, "08-finance-payments");
      // Element text can come back empty from WebKitWebDriver: read the rows in the page.
      const texts = await textsOf(browser, testId("payment-row"));
      const index = texts.findIndex((t) => t.toLowerCase().includes("succeeded"));
      const opened = index >= 0;
      if (opened) await (await browser.$$(testId("payment-row")))[index].click();
      assert.ok(opened, "a succeeded payment is on the first screen");
      await browser.$(testId("refund-form")).waitForDisplayed({ timeout: 10_000 });
      await typeInto(browser, testId("refund-amount"), "1.00");
      await typeInto(browser, testId("refund-reason"), "Goodwill credit for the outage, ticket FIN-42");
      await browser.$(testId("refund-check")).click();
      await browser.$(testId("refund-preview")).waitForDisplayed({ timeout: 10_000 });
      assert.match(await textOf(browser, testId("refund-preview")), /\$1\.00 of .+partial/, "the preview names the amount and that it is partial");
      await shot(browser, "09-finance-refund-preview");
      await browser.$(testId("refund-confirm")).click();
      await browser.$(testId("refund-form")).waitForDisplayed({ reverse: true, timeout: 60_000 });

      // The refund is in Stripe, synced back: the payment is now partially refunded.
      await browser.$(testId("payment-row")).waitForDisplayed({ timeout: 20_000 });
      await browser.waitUntil(async () => (await textsOf(browser, testId("payment-row"))).some((t) => t.includes("partially refunded")), {
        timeout: 30_000,
        timeoutMsg: "no payment shows as partially refunded after the refund",
      });
    });
  });

  it("gives ops the Monitoring screen: live tiles, the queue drill-down with a retry, and the alert feed", async () => {
    await withApp("ops", async (browser) => {
      await signIn(browser, demoEmail("ops"), DEMO_PASSWORD);
      // Operations' home is the Monitoring screen.
      await browser.$(testId("monitoring-screen")).waitForDisplayed({ timeout: 30_000, timeoutMsg: "ops did not start on the Monitoring screen" });
      await browser.$(testId("monitor-tiles")).waitForDisplayed({ timeout: 30_000 });

      // One tile per area, in order. The demo's own PostgreSQL is checked for real; the
      // sources the demo cannot start here are grey and name the profile key to add.
      const tiles = await browser.execute(() =>
        [...document.querySelectorAll('[data-testid="monitor-tile"]')].map((t) => ({
          area: t.getAttribute("data-area"),
          status: t.getAttribute("data-status"),
          text: t.textContent ?? "",
        })),
      );
      const tile = Object.fromEntries(tiles.map((t) => [t.area, t]));
      assert.deepEqual(tiles.map((t) => t.area), ["queue", "sending", "smtp", "dnsbl", "postgres", "redis", "hosts"]);
      const colours = ["green", "yellow", "red"];
      assert.ok(colours.includes(tile.queue.status), `queue tile is ${tile.queue.status}`);
      assert.ok(colours.includes(tile.postgres.status), `postgres tile is ${tile.postgres.status}`);
      assert.ok(colours.includes(tile.sending.status), `sending tile is ${tile.sending.status}`);
      for (const [area, key] of [["smtp", "smtp_servers"], ["dnsbl", "dns_resolver"], ["hosts", "prometheus_url"]]) {
        assert.equal(tile[area].status, "not_configured", `${area} is grey`);
        assert.match(tile[area].text, new RegExp(`Add ${key} under \\[monitor\\]`), `${area} names ${key}`);
      }
      assert.ok(["not_configured", ...colours].includes(tile.redis.status), `redis tile is ${tile.redis.status}`);
      await shot(browser, "11-ops-monitoring");

      // Live: the checks run again within a few seconds while the screen is open.
      const firstRun = await browser.$(testId("monitor-checked-at")).getAttribute("data-at");
      await browser.waitUntil(async () => (await browser.$(testId("monitor-checked-at")).getAttribute("data-at")) !== firstRun, {
        timeout: 15_000,
        timeoutMsg: "the checks did not refresh within 15 s",
      });

      // The queue drill-down: every queue coloured by the docs' rule (red above 1,000
      // waiting or 10 failed, yellow from 100 waiting), the paused one offering Resume.
      await browser.$(`${testId("monitor-tile")}[data-area="queue"]`).click();
      await browser.$(testId("queue-table")).waitForDisplayed({ timeout: 20_000 });
      const queues = await browser.execute(() =>
        [...document.querySelectorAll('[data-testid="queue-row"]')].map((r) => ({
          name: r.getAttribute("data-queue"),
          colour: r.getAttribute("data-colour"),
          waiting: Number(r.getAttribute("data-waiting")),
          failed: Number(r.getAttribute("data-failed")),
          button: r.querySelector('[data-testid="queue-pause-resume"]')?.textContent ?? "",
        })),
      );
      assert.ok(queues.length >= 3, "the demo has its queues");
      for (const q of queues) {
        const expected = q.waiting > 1000 || q.failed > 10 ? "red" : q.waiting >= 100 ? "yellow" : "green";
        assert.equal(q.colour, expected, `${q.name}: ${q.waiting} waiting, ${q.failed} failed`);
      }
      assert.equal(queues.find((q) => q.name === "email-sending:low")?.button, "Resume", "the demo's paused queue offers Resume");
      const worst = queues.some((q) => q.colour === "red") ? "red" : queues.some((q) => q.colour === "yellow") ? "yellow" : "green";
      assert.equal(tile.queue.status, worst, "the queue tile is its worst queue");

      // Failed jobs (the default filter); a bulk retry first says how many it touches.
      await browser.$(testId("job-row")).waitForDisplayed({ timeout: 20_000 });
      const failed = Number((await textOf(browser, testId("job-total"))).replace(/[^0-9]/g, ""));
      assert.equal(failed, queues.reduce((n, q) => n + q.failed, 0), "the failed list holds every failed job");
      assert.deepEqual(await clippedBadges(browser), [], "no queue or job badge is cut");
      assert.deepEqual(await pastTheEdge(browser, `${testId("queue-table")}, ${testId("job-table")}`), [], "the queue and job tables fit the window");
      await shot(browser, "12-ops-queue");
      await browser.$(testId("bulk-retry")).click();
      await browser.$(testId("bulk-count")).waitForDisplayed({ timeout: 20_000 });
      assert.equal(
        (await textOf(browser, testId("bulk-count"))).replace(/[^0-9]/g, ""),
        String(failed),
        "retrying every failed job touches exactly the failed ones",
      );
      await shot(browser, "13-ops-bulk-preview");
      await browser.keys("Escape");
      await browser.$(testId("reason-modal-body")).waitForDisplayed({ reverse: true, timeout: 10_000 });

      // Retry one job, with a reason: it leaves the failed list.
      await browser.$(testId("job-retry")).click();
      await browser.$(testId("reason-input")).waitForDisplayed({ timeout: 10_000 });
      assert.equal(await browser.$(testId("reason-confirm")).isEnabled(), false, "no action without a reason");
      await typeInto(browser, testId("reason-input"), "SMTP relay fixed, ticket OPS-7");
      await browser.$(testId("reason-confirm")).click();
      await browser.$(testId("reason-input")).waitForDisplayed({ reverse: true, timeout: 20_000 });
      await browser.waitUntil(async () => Number((await textOf(browser, testId("job-total"))).replace(/[^0-9]/g, "")) === failed - 1, {
        timeout: 20_000,
        timeoutMsg: "the retried job is still in the failed list",
      });

      // A grey area's drill-down says what to configure; the feed (the demo raises no alerts) is empty.
      await browser.$(testId("monitor-tab-smtp")).click();
      await browser.$(testId("empty-state")).waitForDisplayed({ timeout: 10_000 });
      assert.match(await textOf(browser, testId("empty-state")), /not configured/);
      await browser.$(testId("monitor-tab-postgres")).click();
      await browser.$(testId("postgres-table")).waitForDisplayed({ timeout: 20_000 });
      assert.deepEqual(
        (await browser.execute(() => [...document.querySelectorAll('[data-testid="postgres-row"]')].map((r) => r.firstChild?.textContent))).sort(),
        ["notifications", "olap", "oltp", "queue"],
        "one row per platform database",
      );
      await shot(browser, "14-ops-postgres");
      await browser.$(testId("monitor-tab-alerts")).click();
      await browser.$(testId("alerts-panel")).waitForDisplayed({ timeout: 20_000 });
      await browser.waitUntil(async () => (await browser.$(testId("empty-state")).isExisting()) || (await browser.$(testId("alert-row")).isExisting()), {
        timeout: 20_000,
        timeoutMsg: "the alert feed shows neither alerts nor its empty state",
      });
      await shot(browser, "15-ops-alerts");
    });
  });

  it("keeps working from the cache with an offline banner when the platform is down", async () => {
    assert.ok(seen.id, "needs the tenant the admin scenario opened");
    const restartDatabase = stopDemoDatabase();
    try {
      await withApp("offline", async (browser) => {
        // Signs in against the verifier remembered from the admin's online sign-in.
        await signIn(browser, demoEmail("admin"), DEMO_PASSWORD);
        // The admin left the users scenario on the Users screen: it opens there again.
        await browser.$(testId("users-screen")).waitForDisplayed({ timeout: 30_000, timeoutMsg: "the admin's last screen was not remembered" });
        await browser.$(testId("offline-banner")).waitForDisplayed({ timeout: 30_000 });
        assert.match(await textOf(browser, testId("offline-banner")), /The data is from .+\((just now|.+ ago)\)/, "the banner gives the data's age");
        assert.equal((await textOf(browser, testId("sync-now"))).trim(), "Reconnect");
        await goTo(browser, "tenants");
        await openTenant(browser, seen.name, seen.id);
        assert.deepEqual(await memberEmails(browser), seen.emails, "the cached members are shown offline");
        await shot(browser, "10-offline-tenant");
      });
    } finally {
      restartDatabase();
    }
  });

  it("shows every screen whole at 1280×800 and 1440×900: no badge cut", async () => {
    await withApp("sizes", async (browser) => {
      await signIn(browser, demoEmail("admin"), DEMO_PASSWORD);
      await browser.$(testId("sidebar")).waitForDisplayed({ timeout: 30_000 });
      const screens = await browser.execute(() => [...document.querySelectorAll('[data-testid^="nav-"]')].map((n) => n.getAttribute("data-testid").slice(4)));
      for (const [width, height] of [[1280, 800], [1440, 900]]) {
        await browser.setWindowSize(width, height);
        await browser.pause(500);
        const inner = await browser.execute(() => [window.innerWidth, window.innerHeight]);
        console.log(`window ${width}×${height}: inner ${inner[0]}×${inner[1]}`);
        for (const screen of screens) {
          await goTo(browser, screen);
          await browser.pause(1500);
          assert.deepEqual(await clippedBadges(browser), [], `no badge is cut on ${screen} at ${width}×${height}`);
          await shot(browser, `20-${width}x${height}-${screen}`);
        }
      }
    });
  });
});
