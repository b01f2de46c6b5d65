// "Pay now" from the parent portal in the browser (issue 10): the parent sends an M-Pesa push
// to their phone; the M-Pesa OpenAPI simulator (started by scripts/test) "approves" it on the
// phone a moment later and sends its result to Kilele's webhook; Kilele confirms it with a
// status query and posts it, and the open page turns to "paid" with the receipt by itself
// (server-sent events), without a reload. A phone without enough money says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHOOL, withPage, shot, signIn, expectPath, expectVisible, serverFn } from '../lib.mjs';

async function pay(page, phone, amount) {
  const form = page.getByTestId('pay-now');
  await expectVisible(form, 'the pay-now form');
  await form.locator('select[name="provider"]').selectOption('mpesa');
  await form.locator('input[name="phone"]').fill(phone);
  await form.locator('input[name="amount"]').fill(amount);
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/portal\/fees\/[0-9a-f-]+\/pay\/[0-9a-f-]+$/, { timeout: 15_000 });
}

test('a parent pays by M-Pesa push and the receipt appears live', () =>
  withPage('pay-now', async (page) => {
    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    const family = JSON.parse((await serverFn(page, 'portal/family', {})).body);
    const child = family.children[0];
    await page.goto(`/portal/fees/${child.student_id}`);
    await pay(page, '0712 345 678', '25,000');
    const status = page.getByTestId('push-status');
    await expectVisible(status, 'the push status');
    const first = await status.getAttribute('data-status');
    assert.ok(['waiting', 'paid'].includes(first), `waiting for the phone at first: ${first}`);
    await shot(page, 'pay-now-waiting');
    // No reload: the page's stream turns it to paid.
    const url = page.url();
    await page.locator('[data-testid="push-status"][data-status="paid"]').waitFor({ timeout: 20_000 });
    assert.equal(page.url(), url, 'the same page, never reloaded');
    assert.match(await status.innerText(), /\d+/, 'the receipt number is shown');
    const receipt = page.getByTestId('push-receipt');
    await expectVisible(receipt, 'the receipt link');
    const href = await receipt.getAttribute('href');
    const pdf = await page.request.get(href);
    assert.equal(pdf.status(), 200);
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    await shot(page, 'pay-now-paid');

    // The fees page shows the payment.
    await page.goto(`/portal/fees/${child.student_id}`);
    assert.match(await page.locator('body').innerText(), /25,000/, 'the payment is on the account');

    // Not enough money on the phone (a number ending in 1): said plainly, nothing taken.
    await pay(page, '0712 345 671', '1000');
    await page.locator('[data-testid="push-status"][data-status="failed"]').waitFor({ timeout: 20_000 });
    assert.ok((await page.getByTestId('push-status').innerText()).length > 10, 'a reason is given');
    assert.equal(await page.getByTestId('push-receipt').count(), 0, 'no receipt');
    await shot(page, 'pay-now-failed');
  }));
