// A school set up from zero in the browser: calendar, classes, subjects, a teacher
// allocation, 2,000 students with guardians imported from an XLSX file, a level promoted,
// any student found in under a second. The school (arusha-valley) exists with only its
// admin: scripts/test creates it with `kilele school create`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { withPage, shot, signIn, expectPath, expectVisible, firstNumber } from '../lib.mjs';

const SCHOOL = 'arusha-valley';
const ADMIN = { school: SCHOOL, email: 'head@arusha-valley.test', password: 'Valley-Start-2027' };
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'arusha-valley-2000-students.xlsx');

/** Submits the form that contains `control`, by clicking its button named `button`. */
async function submitWithin(page, formLocator, button) {
  await Promise.all([page.waitForLoadState('load'), formLocator.getByRole('button', { name: button, exact: true }).click()]);
}

async function noFormErrors(page, step) {
  const errors = page.getByTestId('form-errors');
  if (await errors.count()) assert.fail(`${step}: ${await errors.innerText()}`);
}

test('an admin sets up a school from zero, imports 2,000 students, promotes a level and finds a student fast', () =>
  withPage('school setup', async (page) => {
    await signIn(page, ADMIN);
    await expectPath(page, '/admin');

    // Calendar: this year with its two terms (the second current), and next year.
    await page.goto('/admin/calendar');
    await expectVisible(page.getByTestId('calendar-empty'), 'the empty calendar');
    const addYear = page.locator('form', { has: page.locator('input[name="year"]') });
    await addYear.locator('input[name="year"]').fill('2026');
    await submitWithin(page, addYear, 'Add academic year');
    await noFormErrors(page, 'add 2026');
    await submitWithin(page, page.getByTestId('year-2026').locator('tr').nth(1).locator('form').last(), 'Make current');
    await noFormErrors(page, 'make term 2 current');
    await expectVisible(page.getByTestId('current-term'), 'the current term');
    await addYear.locator('input[name="year"]').fill('2027');
    await submitWithin(page, addYear, 'Add academic year');
    await noFormErrors(page, 'add 2027');

    // Classes: Form 1 and Form 2, streams A and B each.
    await page.goto('/admin/classes');
    for (const ordinal of ['1', '2']) {
      const addLevel = page.locator('form', { has: page.locator('select[name="ordinal"]') });
      await addLevel.locator('select[name="band"]').selectOption('o_level');
      await addLevel.locator('select[name="ordinal"]').selectOption(ordinal);
      await submitWithin(page, addLevel, 'Add level');
      await noFormErrors(page, `add Form ${ordinal}`);
    }
    for (let i = 0; i < 4; i++) {
      // Each level's add-stream form; the letter select offers the next free letter first.
      const forms = page.locator('form', { has: page.locator('select[name="name"]') });
      const form = forms.nth(i % 2);
      await form.locator('select[name="name"]').selectOption(i < 2 ? 'A' : 'B');
      await submitWithin(page, form, 'Add stream');
      await noFormErrors(page, `add stream ${i}`);
    }
    for (const cls of ['Form 1A', 'Form 1B', 'Form 2A', 'Form 2B']) {
      assert.ok(await page.getByText(cls, { exact: false }).count(), `${cls} exists`);
    }
    await shot(page, 'setup-classes');

    // Subjects: Basic Mathematics from the national list, compulsory in Form 1, taught by the head.
    await page.goto('/admin/subjects');
    const addMaster = page.locator('form', { has: page.locator('select[name="code"]') }).first();
    await addMaster.locator('select[name="code"]').selectOption('BMATH');
    await submitWithin(page, addMaster, 'Add subject');
    await noFormErrors(page, 'add BMATH');
    await expectVisible(page.getByTestId('subject-BMATH'), 'Basic Mathematics in the school subjects');
    await submitWithin(page, page.getByTestId('level-subject-Form 1-BMATH').locator('form'), 'Compulsory');
    await noFormErrors(page, 'BMATH compulsory in Form 1');
    const allocation = page.getByTestId('allocation-Form 1A-BMATH').locator('form');
    await allocation.locator('select[name="teacher_id"]').selectOption({ label: 'Halima Mollel' });
    await submitWithin(page, allocation, 'Save');
    await noFormErrors(page, 'allocate BMATH');
    await page.goto('/teacher');
    await expectVisible(page.getByTestId('my-classes').getByText('Form 1A'), 'the allocation in the teacher workspace');

    // Import 2,000 students with guardians from XLSX: preview, then one confirmation.
    await page.goto('/admin/import');
    await page.getByLabel('Spreadsheet file').setInputFiles(FIXTURE);
    const started = Date.now();
    await Promise.all([page.waitForURL(/upload=/), page.getByRole('button', { name: 'Check the file' }).click()]);
    await expectVisible(page.getByTestId('import-ready'), 'a clean preview');
    assert.match(await page.getByTestId('import-ready').innerText(), /2000 rows ready, 0 problems/);
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Import 2000 students' }).click()]);
    await expectVisible(page.getByTestId('import-done'), 'the import result');
    console.log(`# import of 2,000 rows in the browser (upload, check, confirm): ${Date.now() - started} ms`);
    await page.goto('/admin');
    assert.equal(firstNumber(await page.getByTestId('stat-students').innerText()), 2000);

    // Promote Form 1 into 2027.
    await page.goto('/admin/promotion');
    await page.locator('select[name="level"]').selectOption({ label: 'Form 1' });
    await Promise.all([page.waitForURL(/level=/), page.getByRole('button', { name: 'Preview', exact: true }).click()]);
    await expectVisible(page.getByTestId('promotion-preview'), 'the promotion preview');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: /^Promote 2000 students of Form 1 into 2027$/ }).click()]);
    await noFormErrors(page, 'promote Form 1');
    await expectVisible(page.getByTestId('promotion-batch'), 'the promotion in force');
    await shot(page, 'setup-promotion');

    // Find one student among 2,000 by name, by admission number and by a guardian's phone.
    for (const [q, expected] of [['Kapinga', 'AVSS/2027/1235'], ['AVSS/2027/1235', 'Zuhura'], ['0710001234', 'AVSS/2027/1235']]) {
      await page.goto('/admin/students');
      await page.locator('input[name="q"]').fill(q);
      const t0 = Date.now();
      await Promise.all([page.waitForURL(/q=/), page.locator('input[name="q"]').press('Enter')]);
      await expectVisible(page.getByTestId('student-row').filter({ hasText: expected }), `search "${q}" finds ${expected}`);
      const ms = Date.now() - t0;
      console.log(`# search "${q}" on 2,000 students: ${ms} ms`);
      assert.ok(ms < 1000, `search "${q}" took ${ms} ms`);
    }
    await shot(page, 'setup-search');
  }));
