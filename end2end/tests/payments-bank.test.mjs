// A bank payment in the browser's world (issue 10): NMB (the simulator, `kilele simulate bank`,
// signing with the school's channel secret as a bank would) notifies a payment quoting a
// student's control number, and it posts by itself; a second one quotes a mistyped number,
// lands in the bursar's suspense queue with why, and the bursar assigns it to the student by
// control number: posted once, with a receipt, gone from the queue.
//
// scripts/test opens the school's NMB channel and passes its secret (KILELE_E2E_NMB_SECRET)
// and the server binary (KILELE_E2E_BIN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BASE, SCHOOL, withPage, shot, signIn, expectPath, expectVisible, serverFn } from '../lib.mjs';

const BIN = process.env.KILELE_E2E_BIN;
const SECRET = process.env.KILELE_E2E_NMB_SECRET;

/** The bank pays `shillings` quoting `control`; returns what Kilele answered the notification. */
function bankPays(control, shillings) {
  const out = execFileSync(
    BIN,
    ['simulate', 'bank', '--url', BASE, '--provider', 'nmb', '--school', SCHOOL, '--control', control, '--amount', String(shillings)],
    { env: { ...process.env, KILELE_SIMULATOR_SECRET: SECRET } },
  ).toString();
  const line = out.split('\n').find((l) => l.startsWith('notification '));
  assert.ok(line, `a notification was sent: ${out}`);
  return line;
}

async function api(page, endpoint, form) {
  const r = await serverFn(page, endpoint, form);
  assert.ok(r.status >= 200 && r.status < 300, `${endpoint}: ${r.status} ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

test('a bank payment posts by itself; a mistyped one waits in suspense and the bursar assigns it', () =>
  withPage('payments-bank', async (page) => {
    assert.ok(BIN && SECRET, 'KILELE_E2E_BIN and KILELE_E2E_NMB_SECRET are not set (scripts/test sets them)');
    await signIn(page, { school: SCHOOL, email: `bursar@${SCHOOL}.test` });
    await expectPath(page, '/accountant');
    // A student who is not the demo parent's child (the fees test counts that child's money).
    const list = await api(page, 'accountant/accounts', { q: '' });
    assert.ok(list.length > 1, 'the school has students');
    const student = list[list.length - 1];
    const before = await api(page, 'accountant/account', { student: student.student_id });
    const control = before.control_number;
    assert.match(control, /^\d{12}$/, `a control number: ${control}`);
    const paidBefore = before.payments.length;

    // Quoting the right number: posted at once, with a receipt.
    const accepted = bankPays(control, 40000);
    assert.match(accepted, / 200 .*"ACCEPTED"/, accepted);

    // A digit wrong: kept for the bursar, not refused (the money has moved).
    const typo = control.slice(0, 11) + String((Number(control[11]) + 1) % 10);
    const held = bankPays(typo, 15000);
    assert.match(held, / 200 .*"SUSPENSE"/, held);

    await page.goto('/accountant/suspense');
    const row = page.locator('[data-testid="suspense"] tr', { hasText: typo });
    await expectVisible(row, 'the mistyped payment in suspense');
    await shot(page, 'suspense');
    // The row's own assign form (it has split and sent-back forms too).
    const assign = row.locator('[data-testid="assign-payment"]');
    await assign.locator('input[name="student"]').fill(control);
    await assign.locator('button[type="submit"]').click();
    await page.waitForLoadState('load');
    await page.goto('/accountant/suspense');
    assert.equal(await page.locator('[data-testid="suspense"] tr', { hasText: typo }).count(), 0, 'assigned: gone from the queue');

    // Both on the student's account, each once.
    await page.goto(`/accountant/accounts/${student.student_id}`);
    const after = await api(page, 'accountant/account', { student: student.student_id });
    const text = await page.locator('body').innerText();
    assert.match(text, /40,000/, 'the bank payment is on the account');
    assert.match(text, /15,000/, 'and the assigned one');
    assert.equal(after.payments.length, paidBefore + 2, 'each posted once');
    assert.equal(before.balance_minor - after.balance_minor, 5_500_000, 'TZS 55,000 off the balance');
    await shot(page, 'account-after-bank');
  }));
