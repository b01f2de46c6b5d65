// The owner console in a real browser: the owner onboards a school, its first admin accepts
// the invitation and signs in, then the owner suspends the school and the admin is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { withPage, shot, signIn, expectPath, expectVisible } from '../lib.mjs';

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
  await expectPath(page, '/login');
}

test('the owner onboards a school, whose admin accepts the invitation, and then suspends it', () =>
  withPage('owner console', async (page) => {
    const code = `e2e-${randomBytes(3).toString('hex')}`;
    const name = `E2E Onboarded School ${code}`;
    const email = `head@${code}.test`;
    const password = 'Onboarded-Admin-2026';

    await signIn(page, { school: '', email: 'owner@kilele.test' });
    await expectPath(page, '/owner');
    const form = page.getByTestId('onboard');
    await form.getByLabel('School name', { exact: true }).fill(name);
    await form.getByLabel('School code', { exact: true }).fill(code);
    await form.getByLabel('Plan', { exact: true }).selectOption('standard');
    await form.getByLabel('Prefix', { exact: true }).fill('EOS');
    await form.getByLabel("First admin's name", { exact: true }).fill('Head Teacher E2E');
    await form.getByLabel("First admin's email", { exact: true }).fill(email);
    await form.getByRole('button', { name: 'Onboard a school', exact: true }).click();
    const link = (await page.getByTestId('invite-link').locator('code').innerText()).trim();
    assert.match(link, new RegExp(`/invite\\?school=${code}&token=`));
    await expectVisible(page.getByRole('cell', { name, exact: true }), 'the new school in the list');
    await shot(page, 'owner-onboarded');
    await signOut(page);

    // The first admin chooses a password and lands on their (empty) school.
    await page.goto(link.replace(/^https?:\/\/[^/]+/, ''));
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password again', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Set password', exact: true }).click();
    await expectPath(page, '/login');
    await signIn(page, { school: code, email, password });
    await expectPath(page, '/admin');
    await signOut(page);

    // The owner suspends it: the admin can no longer sign in.
    await signIn(page, { school: '', email: 'owner@kilele.test' });
    await expectPath(page, '/owner');
    const row = page.getByRole('row').filter({ hasText: name });
    await row.getByRole('button', { name: 'Suspend', exact: true }).click();
    await expectVisible(page.getByRole('row').filter({ hasText: name }).getByRole('button', { name: 'Resume', exact: true }), 'Resume for the suspended school');
    await shot(page, 'owner-suspended');
    await signOut(page);
    await signIn(page, { school: code, email, password });
    await expectVisible(page.getByText("This school's account is suspended"), 'the suspended message');
    assert.equal(new URL(page.url()).pathname, '/login');
  }));
