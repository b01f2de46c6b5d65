// Browser tests for Kilele: runs end2end/tests/*.test.mjs with node:test, one file at a time,
// prints the usual spec report and, as its last line, `e2e: N passed, N failed`.
//
//   KILELE_E2E_URL=http://127.0.0.1:3100 node end2end/run.mjs [name-filter]
//
// The server must already be running with the demo data seeded (scripts/test does both).
// Environment:
//   KILELE_E2E_URL   base URL of the running server (default http://127.0.0.1:3100)
//   KILELE_E2E_DATABASE_URL  the e2e database (owner), for tests that set up what no page can
//                    (a job that gave up: jobs.test.mjs)
//   KILELE_CHROMIUM  Chromium executable (default /usr/bin/chromium, the Debian package)
//   KILELE_E2E_HEADED=1  show the browser window (needs a display)
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { once } from 'node:events';
import { readdirSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const testsDir = path.join(here, 'tests');
const filter = process.argv[2];

const chromium = process.env.KILELE_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`Chromium not found at ${chromium}: apt-get install -y chromium (or set KILELE_CHROMIUM).`);
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
}

// Screenshots of failures from an earlier run would only mislead.
const screenshots = path.join(here, 'screenshots');
mkdirSync(screenshots, { recursive: true });
for (const f of readdirSync(screenshots)) {
  if (f.startsWith('FAILED-')) rmSync(path.join(screenshots, f));
}

const files = readdirSync(testsDir)
  .filter((f) => f.endsWith('.test.mjs'))
  .sort()
  .map((f) => path.join(testsDir, f));

let passed = 0;
let failed = 0;

const stream = run({
  files,
  concurrency: 1, // one browser at a time: the machine has two cores and a server to feed
  timeout: 10 * 60 * 1000,
  ...(filter ? { testNamePatterns: [filter] } : {}),
});
stream.on('test:pass', (data) => {
  if (data.details?.type !== 'suite' && !data.skip && !data.todo) passed += 1;
});
stream.on('test:fail', (data) => {
  if (data.details?.type !== 'suite') failed += 1;
});

const report = stream.compose(spec);
report.pipe(process.stdout, { end: false });
await once(report, 'end');

console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
