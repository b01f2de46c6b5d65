// Sign-in, portals, language switch and sign-out, against the seeded demo data.
// Pages are server-rendered; everything is found by accessible label, role, text or data-testid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.KILELE_E2E_URL ?? 'http://127.0.0.1:3100').replace(/\/+$/, '');
const PASSWORD = 'Demo-Kilele-2026';
const SCHOOL = 'kilimanjaro-hills';
const SCHOOL_NAME = 'Kilimanjaro Hills Secondary School';
const TIMEOUT = 15_000;

const screenshots = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');
mkdirSync(screenshots, { recursive: true });

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.KILELE_CHROMIUM ?? '/usr/bin/chromium',
    headless: process.env.KILELE_E2E_HEADED !== '1',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
});

after(async () => {
  await browser?.close();
});

// ------------------------------------------------------------------------------------------------
// Helpers

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * A fresh browser context per test, asking for English (cookie + Accept-Language). Fails the
 * test on uncaught page errors (a broken WASM bundle shows up here) and, on failure, saves a
 * screenshot and adds the URL and the start of the page text to the error.
 */
async function withPage(name, fn) {
  const context = await browser.newContext({ baseURL: BASE, locale: 'en-US' });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(30_000);
  await context.addCookies([{ name: 'kilele_lang', value: 'en', url: BASE }]);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  try {
    await fn(page);
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
  } catch (err) {
    await page
      .screenshot({ path: path.join(screenshots, `FAILED-${slug(name)}.png`), fullPage: true })
      .catch(() => {});
    const text = await page
      .locator('body')
      .innerText({ timeout: 2_000 })
      .catch(() => '(no page text)');
    const context_ = `\n    at URL: ${page.url()}\n    page text: ${text.replace(/\s+/g, ' ').slice(0, 600)}`;
    if (err instanceof Error) {
      const original = err.message;
      err.message = original + context_;
      // The reporter prints the stack, which captured the message when the error was made.
      if (typeof err.stack === 'string') err.stack = err.stack.replace(original, err.message);
    }
    throw err;
  } finally {
    await context.close();
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

async function signIn(page, { school, email, password = PASSWORD }) {
  await page.goto('/login');
  await page.getByLabel('School code', { exact: true }).fill(school);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function expectPath(page, pathname) {
  try {
    await page.waitForURL((url) => url.pathname === pathname, { timeout: TIMEOUT });
  } catch {
    assert.fail(`expected to land on ${pathname}, but the page is at ${page.url()}`);
  }
}

async function expectHeading(page, text) {
  await page.getByRole('heading', { name: text }).first().waitFor({ state: 'visible' });
}

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible' });
  } catch {
    assert.fail(`${what} is not visible`);
  }
}

/** Rows/items inside a list or table container: table body rows, list items, cards. */
async function countItems(container) {
  return container
    .locator('tbody tr, li, [role="listitem"], [role="row"]:not(:has([role="columnheader"])), article')
    .count();
}

/** The first number in a text; "1,234", "1 234" and "1.234" all read as 1234. */
function firstNumber(text) {
  const m = text.match(/\d(?:[\d,.\u00a0\u202f ]*\d)?/);
  return m ? Number(m[0].replace(/\D/g, '')) : NaN;
}

/** Text of an element plus that of its parent (a stat's label may sit next to its value). */
async function textWithParent(locator) {
  const own = await locator.innerText();
  const parent = await locator.locator('xpath=..').innerText();
  return `${own}\n${parent}`;
}

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

test('bursar lands on /accountant with the empty finance state', () =>
  withPage('bursar', async (page) => {
    await signIn(page, { school: SCHOOL, email: `bursar@${SCHOOL}.test` });
    await expectPath(page, '/accountant');
    await expectVisible(page.getByTestId('finance-empty'), '[data-testid="finance-empty"]');
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
