// Shared helpers of the browser tests: one Chromium per test file, a fresh context per test
// (English, failures screenshotted), and small page helpers.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = (process.env.KILELE_E2E_URL ?? 'http://127.0.0.1:3100').replace(/\/+$/, '');
export const PASSWORD = 'Demo-Kilele-2026';
export const SCHOOL = 'kilimanjaro-hills';
export const SCHOOL_NAME = 'Kilimanjaro Hills Secondary School';
export const TIMEOUT = 15_000;

const screenshots = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
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
export async function withPage(name, fn) {
  const context = await browser.newContext({ baseURL: BASE, locale: 'en-US', acceptDownloads: true });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(30_000);
  await context.addCookies([{ name: 'kilele_lang', value: 'en', url: BASE }]);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  // A script or the WASM blocked by our Content-Security-Policy breaks the islands silently.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) pageErrors.push(msg.text());
  });
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

export async function shot(page, name) {
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

export async function signIn(page, { school, email, password = PASSWORD }) {
  await page.goto('/login');
  await page.getByLabel('School code', { exact: true }).fill(school);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export async function expectPath(page, pathname) {
  try {
    await page.waitForURL((url) => url.pathname === pathname, { timeout: TIMEOUT });
  } catch {
    assert.fail(`expected to land on ${pathname}, but the page is at ${page.url()}`);
  }
}

export async function expectHeading(page, text) {
  await page.getByRole('heading', { name: text }).first().waitFor({ state: 'visible' });
}

export async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible' });
  } catch {
    assert.fail(`${what} is not visible`);
  }
}

/** Rows/items inside a list or table container: table body rows, list items, cards. */
export async function countItems(container) {
  return container
    .locator('tbody tr, li, [role="listitem"], [role="row"]:not(:has([role="columnheader"])), article')
    .count();
}

/** The first number in a text; "1,234", "1 234" and "1.234" all read as 1234. */
export function firstNumber(text) {
  const m = text.match(/\d(?:[\d,.\u00a0\u202f ]*\d)?/);
  return m ? Number(m[0].replace(/\D/g, '')) : NaN;
}

/** Text of an element plus that of its parent (a stat's label may sit next to its value). */
export async function textWithParent(locator) {
  const own = await locator.innerText();
  const parent = await locator.locator('xpath=..').innerText();
  return `${own}\n${parent}`;
}

/** Calls a server function from the page (same origin), as the islands and forms do:
 * `{ status, body }` with the body as text. */
export async function serverFn(page, endpoint, form) {
  return page.evaluate(
    async ([endpoint, form]) => {
      const r = await fetch(`/api/${endpoint}`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
      });
      return { status: r.status, body: await r.text() };
    },
    [endpoint, form],
  );
}
