// Sign-in, portals, language switch and sign-out, against the seeded demo data.
// Pages are server-rendered; everything is found by accessible label, role, text or data-testid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE,
  PASSWORD,
  SCHOOL,
  SCHOOL_NAME,
  TIMEOUT,
  withPage,
  shot,
  signIn,
  expectPath,
  expectHeading,
  expectVisible,
  countItems,
  firstNumber,
  textWithParent,
} from '../lib.mjs';

// ------------------------------------------------------------------------------------------------
// Tests (they run in this order; the language switch comes last because it may persist a
// preference on the admin account)

test('login page has school code, email, password and a Sign in button', () =>
  withPage('login page', async (page) => {
    await page.goto('/login');
    await expectVisible(page.getByLabel('School code', { exact: true }), 'input "School code"');
    await expectVisible(page.getByLabel('Email', { exact: true }), 'input "Email"');
    const password = page.getByLabel('Password', { exact: true });
    await expectVisible(password, 'input "Password"');
    assert.equal(await password.getAttribute('type'), 'password', 'the password input has type=password');
    await expectVisible(page.getByRole('button', { name: 'Sign in', exact: true }), 'button "Sign in"');
    await shot(page, 'login');
  }));

test('wrong password shows the generic error and stays on /login', () =>
  withPage('wrong password', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test`, password: 'not-the-password' });
    await expectVisible(page.getByText('Wrong school code, email or password'), 'the error "Wrong school code, email or password"');
    assert.equal(new URL(page.url()).pathname, '/login');
    await shot(page, 'login-error');
  }));

test('owner lands on /owner with the Schools overview', () =>
  withPage('owner', async (page) => {
    await signIn(page, { school: '', email: 'owner@kilele.test' });
    await expectPath(page, '/owner');
    await expectHeading(page, 'Schools');
    await shot(page, 'portal-owner');
  }));

test('school admin lands on /admin with the school name and its student count', () =>
  withPage('admin', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await expectHeading(page, SCHOOL_NAME);
    const stat = page.getByTestId('stat-students');
    await expectVisible(stat, '[data-testid="stat-students"]');
    const text = await stat.innerText();
    const students = firstNumber(text);
    assert.ok(students > 300, `expected more than 300 students in stat-students, got "${text}"`);
    await shot(page, 'portal-admin');
  }));

test('teacher lands on /teacher with at least one class', () =>
  withPage('teacher', async (page) => {
    await signIn(page, { school: SCHOOL, email: `teacher@${SCHOOL}.test` });
    await expectPath(page, '/teacher');
    const classes = page.getByTestId('my-classes');
    await expectVisible(classes, '[data-testid="my-classes"]');
    assert.ok((await countItems(classes)) >= 1, 'my-classes has no rows');
    await shot(page, 'portal-teacher');
  }));

test('bursar lands on /accountant with the term\'s finance dashboard', () =>
  withPage('bursar', async (page) => {
    await signIn(page, { school: SCHOOL, email: `bursar@${SCHOOL}.test` });
    await expectPath(page, '/accountant');
    await expectVisible(page.getByTestId('stat-billed'), '[data-testid="stat-billed"]');
    await expectVisible(page.getByTestId('ageing-chart').locator('svg'), 'the arrears chart');
    await shot(page, 'portal-accountant');
  }));

test('parent lands on /portal and sees at least one child', () =>
  withPage('parent', async (page) => {
    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    const children = page.getByTestId('my-children');
    await expectVisible(children, '[data-testid="my-children"]');
    assert.ok((await countItems(children)) >= 1, 'my-children lists no child');
    await shot(page, 'portal-parent');
  }));

test('student lands on /portal and sees their record', () =>
  withPage('student', async (page) => {
    await signIn(page, { school: SCHOOL, email: `student@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    await expectVisible(page.getByTestId('my-record'), '[data-testid="my-record"]');
    await shot(page, 'portal-student');
  }));

test('Sign out returns to /login and ends the session', () =>
  withPage('sign out', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expectPath(page, '/login');
    await page.goto('/admin');
    await expectPath(page, '/login');
  }));

test('language switch to Kiswahili applies and persists across a reload', () =>
  withPage('language switch', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    const stat = page.getByTestId('stat-students');
    await expectVisible(page.getByRole('button', { name: 'Sign out', exact: true }), 'button "Sign out"');
    assert.match(await textWithParent(stat), /Students/, 'English students label');

    await page.getByRole('button', { name: 'Kiswahili', exact: true }).click();
    await expectVisible(page.getByRole('button', { name: 'Toka', exact: true }), 'button "Toka" (Kiswahili sign-out)');
    assert.match(await textWithParent(stat), /Wanafunzi/, 'Kiswahili students label "Wanafunzi"');
    await shot(page, 'portal-admin-sw');

    await page.reload();
    await expectVisible(page.getByRole('button', { name: 'Toka', exact: true }), 'button "Toka" after reload');
    assert.match(await textWithParent(stat), /Wanafunzi/, '"Wanafunzi" after reload');

    // Put the account back to English if the choice was stored on it (best effort).
    const english = page.getByRole('button', { name: 'English', exact: true });
    if (await english.count()) {
      await english.first().click();
      await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor().catch(() => {});
    }
  }));

// What a parent's phone downloads: the first visit (empty cache) stays small, and a repeat
// visit fetches only the HTML — the islands' JS, WASM and CSS have hashed names and are cached
// as immutable. Bytes are what came over the wire (compressed), headers included.
test('a parent portal first load is small and a repeat visit downloads only the HTML', () =>
  withPage('parent bytes', async (page) => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const requests = new Map();
    const fromCache = new Set();
    cdp.on('Network.requestServedFromCache', (e) => fromCache.add(e.requestId));
    cdp.on('Network.responseReceived', (e) => {
      if (fromCache.has(e.requestId) || e.response.fromDiskCache || e.response.fromPrefetchCache) return;
      requests.set(e.requestId, { url: e.response.url, type: e.type, bytes: 0 });
    });
    cdp.on('Network.loadingFinished', (e) => {
      const r = requests.get(e.requestId);
      if (r) r.bytes = e.encodedDataLength;
    });
    const settle = () => page.waitForFunction(() => document.querySelector('leptos-island') === null || window.__hydrateIsland !== undefined);

    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    await page.waitForLoadState('networkidle');
    await settle();
    const first = [...requests.values()];
    const firstBytes = first.reduce((n, r) => n + r.bytes, 0);
    const wasm = first.find((r) => r.url.endsWith('.wasm'));
    assert.ok(wasm, `the islands' WASM was fetched on the first visit: ${first.map((r) => r.url).join(', ')}`);

    requests.clear();
    await page.goto('/portal');
    await page.waitForLoadState('networkidle');
    await settle();
    const repeat = [...requests.values()];
    const repeatBytes = repeat.reduce((n, r) => n + r.bytes, 0);
    console.log(
      `parent portal: first visit (sign-in + portal) ${first.length} responses, ${firstBytes} bytes; ` +
        `repeat visit ${repeat.length} responses (${repeat.map((r) => r.type).join(', ')}), ${repeatBytes} bytes`,
    );
    assert.ok(firstBytes <= 150 * 1024, `first visit ${firstBytes} bytes > 150 KB`);
    assert.deepEqual(
      repeat.filter((r) => r.type !== 'Document').map((r) => r.url),
      [],
      'a repeat visit fetches only the HTML',
    );
  }));
