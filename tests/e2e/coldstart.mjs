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
    await browser.$(testId("email")).setValue(demoEmail("admin"));
    await browser.$(testId("password")).setValue(DEMO_PASSWORD);
    const submitted = performance.now();
    await browser.$(testId("sign-in")).click();
    await browser.$(testId("tenant-row")).waitForDisplayed({ timeout: 30_000, interval: 20 });
    const tenantsShown = performance.now();
    return { launch: signInShown - launched, signIn: tenantsShown - submitted, total: signInShown - launched + (tenantsShown - submitted) };
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
  console.log(`  sign in → tenant rows shown:    ${ms(median(runs.map((r) => r.signIn)))}`);
  console.log(`  total:                          ${ms(median(runs.map((r) => r.total)))}`);
} finally {
  stopDriver();
}
