// The failed-jobs page in the browser (issue 8): a background job that gave up is shown to the
// school's admin with its reason, put back in the queue with one click, and run by the worker
// of the server under test (`kilele all`).
//
// A job that gave up is made directly in the e2e database (as a database outage of a few hours
// would leave it): scripts/test passes its URL as KILELE_E2E_DATABASE_URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SCHOOL, withPage, shot, signIn, expectPath, expectVisible } from '../lib.mjs';

const DB = process.env.KILELE_E2E_DATABASE_URL;

function sql(statement) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', DB, '-c', statement]).toString().trim();
}

test('the admin sees a job that gave up, puts it back, and the worker runs it', () =>
  withPage('jobs', async (page) => {
    assert.ok(DB, 'KILELE_E2E_DATABASE_URL is not set (scripts/test sets it)');
    // The school's nightly audit check, failed five times while the database was away.
    const job = sql(
      `INSERT INTO jobs (tenant_id, kind, status, attempts, max_attempts, last_error, finished_at)
       SELECT id, 'audit.verify', 'failed', 5, 5, 'connection reset by peer (e2e)', now() FROM tenants WHERE slug = '${SCHOOL}'
       RETURNING id`,
    );
    assert.match(job, /^[0-9a-f-]{36}$/, `a job id: ${job}`);

    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await page.goto('/admin/jobs');
    await expectPath(page, '/admin/jobs');
    const row = page.locator(`tr[data-job="${job}"]`);
    await expectVisible(row, 'the job that gave up');
    assert.equal(await row.getAttribute('data-gave-up'), 'true');
    assert.match(await row.innerText(), /connection reset by peer/, 'its reason is shown');
    await shot(page, 'jobs-failed');

    // One click puts it back; the worker takes it at once (woken by the queue's notification).
    await row.getByTestId('retry-job').locator('button').click();
    let status = '';
    for (let i = 0; i < 60 && status !== 'done'; i++) {
      await page.waitForTimeout(250);
      status = sql(`SELECT status FROM jobs WHERE id = '${job}'`);
    }
    assert.equal(status, 'done', 'the worker ran the job put back');
    await page.goto('/admin/jobs');
    assert.equal(await page.locator(`tr[data-job="${job}"]`).count(), 0, 'no longer listed');
    await expectVisible(page.getByTestId('no-failed-jobs'), 'nothing failed any more');
    await shot(page, 'jobs-none');
  }));
