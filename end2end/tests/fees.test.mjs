// Fees end to end in the browser (issue 9): the bursar sets the fee structure of the parent's
// child's class, invoices that class and watches the progress bar finish, records a cash
// payment for the child and downloads its receipt; the parent sees the balance change.
//
// The demo school starts with no fees, so every amount here is known: the class pays TZS
// 480,000 (tuition 450,000 and examination 30,000, everyone) in three instalments, the child
// pays TZS 200,000 and owes TZS 280,000 after it. A second run on the same data is refused
// politely (the structure is locked once invoiced), so this file expects a fresh e2e database,
// as scripts/test makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SCHOOL, withPage, shot, signIn, expectPath, expectVisible, serverFn } from '../lib.mjs';

async function api(page, endpoint, form) {
  const r = await serverFn(page, endpoint, form);
  assert.ok(r.status >= 200 && r.status < 300, `${endpoint}: ${r.status} ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

/** "TZS 280,000" → 280000 (whole shillings). */
const shillings = (text) => Number(text.replace(/[^0-9]/g, ''));

test('the bursar bills a class and records a payment with its receipt; the parent sees the balance change', () =>
  withPage('fees', async (page) => {
    // The parent's child, its class, and its balance before (nothing billed yet).
    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    const family = await api(page, 'portal/family', {});
    const child = family.children[0];
    await page.getByTestId('child-fees').first().click();
    await expectPath(page, `/portal/fees/${child.student_id}`);
    const before = shillings(await page.getByTestId('account-balance').innerText());
    assert.equal(before, 0, 'nothing is billed before the bursar invoices');
    await page.context().clearCookies();

    // The bursar: the class's fee structure.
    await signIn(page, { school: SCHOOL, email: `bursar@${SCHOOL}.test` });
    await expectPath(page, '/accountant');
    // (The demo bursar reads Kiswahili: the steps go by address, names and test ids.)
    await page.getByTestId('stat-billed').waitFor();
    await page.goto('/accountant/fees');
    const structures = page.getByTestId('fee-structure');
    const names = await structures.evaluateAll((els) => els.map((e) => e.getAttribute('data-class')));
    const level = names.filter((n) => child.class_name.startsWith(n)).sort((a, b) => b.length - a.length)[0];
    assert.ok(level, `a structure form for ${child.class_name}: ${names}`);
    const form = page.locator(`[data-testid="fee-structure"][data-class="${level}"]`);
    // A mistake first: shares that do not add up are refused with the reason, nothing saved.
    await form.locator('input[name="items[0][name]"]').fill('Tuition');
    await form.locator('input[name="items[0][amount]"]').fill('450,000');
    await form.locator('input[name="items[1][name]"]').fill('Examination');
    await form.locator('input[name="items[1][amount]"]').fill('30000');
    const shares = [['40', '2026-07-15'], ['30', '2026-09-01'], ['20', '2027-01-15']];
    for (const [i, [percent, due]] of shares.entries()) {
      await form.locator(`input[name="instalments[${i}][percent]"]`).fill(percent);
      await form.locator(`input[name="instalments[${i}][due_on]"]`).fill(due);
    }
    await form.locator('button[type="submit"]').click();
    await expectVisible(page.getByTestId('form-errors'), 'the form errors');
    assert.match(await page.getByTestId('form-errors').innerText(), /100/, 'the shares must add up to 100 %');
    const again = page.locator(`[data-testid="fee-structure"][data-class="${level}"]`);
    await again.locator('input[name="items[0][name]"]').fill('Tuition');
    await again.locator('input[name="items[0][amount]"]').fill('450,000');
    await again.locator('input[name="items[1][name]"]').fill('Examination');
    await again.locator('input[name="items[1][amount]"]').fill('30000');
    shares[2][0] = '30';
    for (const [i, [percent, due]] of shares.entries()) {
      await again.locator(`input[name="instalments[${i}][percent]"]`).fill(percent);
      await again.locator(`input[name="instalments[${i}][due_on]"]`).fill(due);
    }
    await again.locator('button[type="submit"]').click();
    await expectPath(page, '/accountant/fees');
    const total = page.locator(`[data-testid="fee-structure"][data-class="${level}"] [data-testid="structure-total"]`);
    await expectVisible(total, 'the structure total');
    assert.equal(shillings(await total.innerText()), 480000);

    // Invoice the class: the progress bar runs to done.
    const invoicing = page.getByTestId('request-invoices');
    await invoicing.locator('select[name="level"]').selectOption({ label: level });
    await invoicing.locator('button[type="submit"]').click();
    await expectPath(page, '/accountant/fees');
    const bar = page.getByTestId('invoice-runs').getByTestId('batch-progress').first();
    await expectVisible(bar, 'the invoicing progress bar');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="invoice-runs"] [data-testid="batch-progress"]')?.getAttribute('data-status') === 'done',
      null,
      { timeout: 60_000 },
    );
    const counts = await bar.getByTestId('batch-counts').innerText();
    // "N of N invoiced, 0 could not be" / "N kati ya N wamepewa ankara, 0 imeshindikana".
    assert.match(counts, /^(\d+)\D+\1\D+0\D/, counts);
    await shot(page, 'fees-invoiced');

    // The child's account: billed, then a cash payment and its receipt.
    await page.goto(`/accountant/accounts?q=${encodeURIComponent(child.admission_no)}`);
    await page.getByTestId('accounts').getByRole('link').first().click();
    await expectPath(page, `/accountant/accounts/${child.student_id}`);
    assert.equal(shillings(await page.getByTestId('account-balance').innerText()), 480000);
    const pay = page.getByTestId('record-payment');
    await pay.locator('input[name="amount"]').fill('200,000');
    await pay.locator('select[name="channel"]').selectOption('cash');
    await pay.locator('button[type="submit"]').click();
    await expectPath(page, `/accountant/accounts/${child.student_id}`);
    assert.equal(shillings(await page.getByTestId('account-balance').innerText()), 280000);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('receipt-link').first().click()]);
    const pdf = readFileSync(await download.path());
    assert.equal(pdf.subarray(0, 4).toString(), '%PDF', 'the receipt is a PDF');
    assert.match(download.suggestedFilename(), /^receipt-\d+\.pdf$/);
    await shot(page, 'fees-account');
    await page.context().clearCookies();

    // The parent sees the balance change, with the control number and how to pay.
    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    await page.goto(`/portal/fees/${child.student_id}`);
    assert.equal(shillings(await page.getByTestId('account-balance').innerText()), 280000);
    assert.match(await page.getByTestId('control-number').innerText(), /^\d{4} \d{4} \d{4}$/);
    await expectVisible(page.getByTestId('how-to-pay'), 'how to pay');
    const [receipt] = await Promise.all([page.waitForEvent('download'), page.getByTestId('receipt-link').first().click()]);
    assert.equal(readFileSync(await receipt.path()).subarray(0, 4).toString(), '%PDF');
    await shot(page, 'fees-parent');
  }));
