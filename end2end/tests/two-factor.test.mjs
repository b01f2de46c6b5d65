// Two-factor sign-in in a real browser, without touching the demo accounts other tests use: the
// admin invites a new accountant, who chooses a password, sets up an authenticator (the test
// computes its codes, RFC 6238), signs in with a code, and with a recovery code once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { PASSWORD, SCHOOL, withPage, shot, signIn, expectPath, expectVisible } from '../lib.mjs';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text) {
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code an authenticator app shows `offset` seconds from now. */
function totp(secret, offset = 0) {
  const counter = Math.floor((Date.now() / 1000 + offset) / 30);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', base32Decode(secret)).update(message).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).first().click();
  await expectPath(page, '/login');
}

test('an accountant sets up two-factor sign-in, signs in with a code, and a recovery code works once', () =>
  withPage('two-factor', async (page) => {
    const email = `e2e-2fa-${randomBytes(4).toString('hex')}@${SCHOOL}.test`;
    const password = 'Two-Factor-Test-2026';

    // The admin invites them (the link is shown once on the staff page).
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.goto('/admin/staff');
    await page.getByLabel('Name', { exact: true }).fill('E2E Two-Factor Bursar');
    await page.locator('#staff-email').fill(email);
    await page.getByLabel('Role', { exact: true }).selectOption('accountant');
    await page.getByRole('button', { name: 'Invite a staff member', exact: true }).click();
    const link = (await page.getByTestId('invite-link').locator('code').innerText()).trim();
    assert.match(link, /\/invite\?/);
    await signOut(page);

    // They choose a password and sign in: reminded to set up two-factor sign-in.
    await page.goto(link.replace(/^https?:\/\/[^/]+/, ''));
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password again', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Set password', exact: true }).click();
    await expectPath(page, '/login');
    await signIn(page, { school: SCHOOL, email, password });
    await expectPath(page, '/accountant');
    await expectVisible(page.getByTestId('two-factor-due'), 'the two-factor reminder');

    // Set up: scan (here: read) the key, confirm with a first code and the password.
    await page.getByTestId('two-factor-due').getByRole('link').click();
    await expectPath(page, '/account/two-factor');
    await page.getByRole('button', { name: 'Set up two-factor sign-in', exact: true }).click();
    await expectVisible(page.getByTestId('two-factor-setup').locator('svg'), 'the QR code');
    const secret = (await page.getByTestId('totp-secret').innerText()).trim();
    await page.getByLabel('Code', { exact: true }).fill(totp(secret));
    await page.getByLabel('Password', { exact: true }).fill(password);
    await shot(page, 'two-factor-setup');
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    const codes = page.getByTestId('recovery-codes').locator('li');
    await expectVisible(codes.first(), 'the recovery codes');
    assert.equal(await codes.count(), 10);
    const recovery = (await codes.first().innerText()).trim();
    await shot(page, 'two-factor-recovery-codes');

    // Sign in again: the password, then the code (the next step's: this step's is spent).
    await signOut(page);
    await signIn(page, { school: SCHOOL, email, password });
    await expectPath(page, '/login/code');
    await page.getByLabel('Code', { exact: true }).fill(totp(secret, 30));
    await shot(page, 'two-factor-code');
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await expectPath(page, '/accountant');

    // A recovery code works once.
    await signOut(page);
    await signIn(page, { school: SCHOOL, email, password });
    await expectPath(page, '/login/code');
    await page.getByLabel('Code', { exact: true }).fill(recovery);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await expectPath(page, '/accountant');
    await signOut(page);
    await signIn(page, { school: SCHOOL, email, password });
    await expectPath(page, '/login/code');
    await page.getByLabel('Code', { exact: true }).fill(recovery);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await expectVisible(page.getByText('That code is not right'), 'the refusal of a spent recovery code');
    assert.equal(new URL(page.url()).pathname, '/login/code');
  }));
