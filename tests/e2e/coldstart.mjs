// Cold start of the release app to the Tenants screen showing cached data: launches
// the app (profile remembered, cache filled by the scenarios), signs in as admin and
// waits for the first tenant row. Prints the median of five runs; a benchmark, not a
// test: it asserts nothing. Run through `bash .ci/e2e --coldstart`.
import { performance } from "node:perf_hooks";

import { DEMO_PASSWORD, demoEmail, openApp, startDriver, stopDriver, testId } from "./app.mjs";

const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once() {
  const launched = performance.now();
  const browser = await openApp();
  try {
    await browser.$(testId("email")).waitForDisplayed({ timeout: 30_000, interval: 20 });
    const signInShown = performance.now();
    const inPage = await browser.execute(() => performance.now());
    await browser.$(testId("email")).setValue(demoEmail("admin"));
    await browser.$(testId("password")).setValue(DEMO_PASSWORD);
    const submitted = performance.now();
    await browser.$(testId("sign-in")).click();
    await browser.$(testId("tenant-row")).waitForDisplayed({ timeout: 30_000, interval: 20 });
    const tenantsShown = performance.now();
    // The app's own performance marks (ui/src/main.tsx, App.tsx, SignInScreen.tsx).
    const marks = Object.fromEntries(
      await browser.execute(() => performance.getEntriesByType("mark").map((m) => [m.name, m.startTime])),
    );
    return {
      launch: signInShown - launched,
      page: inPage,
      signIn: tenantsShown - submitted,
      scriptStart: marks["script-start"],
      startupCommands: marks["startup-commands-done"] - marks["startup-commands-start"],
      signInCall: marks["sign-in-done"] - marks["sign-in-start"],
      total: signInShown - launched + (tenantsShown - submitted),
    };
  } finally {
    await browser.deleteSession().catch(() => {});
  }
}

await startDriver();
try {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once());
  const ms = (x) => `${Math.round(x)} ms`;
  console.log(`cold start, median of ${RUNS} (typing excluded):`);
  console.log(`  launch → sign-in screen ready:  ${ms(median(runs.map((r) => r.launch)))}`);
  console.log(`    in the page:                  ${ms(median(runs.map((r) => r.page)))}`);
  console.log(`      navigation → script runs:   ${ms(median(runs.map((r) => r.scriptStart)))}`);
  console.log(`      status/profile commands:    ${ms(median(runs.map((r) => r.startupCommands)))}`);
  console.log(`  sign in → tenant rows shown:    ${ms(median(runs.map((r) => r.signIn)))}`);
  console.log(`    sign_in command:              ${ms(median(runs.map((r) => r.signInCall)))}`);
  console.log(`  total:                          ${ms(median(runs.map((r) => r.total)))}`);
} finally {
  stopDriver();
}
