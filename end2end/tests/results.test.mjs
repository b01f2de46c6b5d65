// Results, end to end in the browser: the admin copies the CSEE grading scheme, edits it and
// gives it to the class, and renames an assessment (the set-up forms as the page renders them);
// a teacher enters marks in the grid (one entry typed
// while the server is unreachable, saved when the connection returns) and submits; the head
// teacher returns the sheet with a comment, the teacher corrects and resubmits, the head
// teacher approves; the admin publishes the class; the parent sees the result and the trend
// chart. The other sheets of the class are filled, submitted and approved through the same
// server functions the pages call (a class has twenty sheets; the browser path is one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHOOL, TIMEOUT, withPage, shot, signIn, expectPath, expectVisible, serverFn } from '../lib.mjs';

/** A server function called from the page, as the islands and forms do (same origin). */
const api = serverFn;

async function apiJson(page, endpoint, body) {
  return page.evaluate(
    async ([endpoint, body]) => {
      const r = await fetch(`/api/${endpoint}`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.text() };
    },
    [endpoint, body],
  );
}

async function ok(promise, what) {
  const r = await promise;
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
  return r.body ? JSON.parse(r.body) : null;
}

const state = {};

function sheetForm(s) {
  return { term: s.term_id, stream: s.stream_id, subject: s.subject_id };
}

/** Types every missing entry of a sheet (marks depend on the row and the subject). */
async function fillSheet(page, s, salt) {
  const view = await ok(api(page, 'results/sheet', sheetForm(s)), 'load a sheet');
  const keys = view.assessments.assessments.map((a) => a.key);
  const cells = [];
  view.rows.forEach((row, ri) => {
    keys.forEach((key, ki) => {
      if (!row.entries[ki]) {
        const mark = 25 + ((ri * 7 + salt * 13 + ki * 5) % 75);
        cells.push({ student: row.student_id, assessment: key, value: String(mark), base_revision: 0 });
      }
    });
  });
  const report = await ok(apiJson(page, 'results/save', { ...sheetForm(s), cells, reason: null }), 'save a sheet');
  assert.equal(report.conflicts.length, 0, 'no conflicts');
}

test('set-up: the demo teacher teaches every subject of the parent\'s child\'s class', () =>
  withPage('results set-up', async (page) => {
    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    const family = await ok(api(page, 'portal/family', {}), 'family');
    const child = family.children[0];
    state.child = child;
    await page.context().clearCookies();

    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    const overview = await ok(api(page, 'admin/results', {}), 'results overview');
    const level = overview.sheets.find((s) => s.class_name === child.class_name).level_id;
    state.term = overview.term_id;
    state.sheets = overview.sheets.filter((s) => s.level_id === level);
    state.level = level;
    assert.ok(state.sheets.length >= 10, 'the class has its subjects');
    const staff = await ok(api(page, 'admin/staff', {}), 'staff');
    const teacher = staff.find((m) => m.email === `teacher@${SCHOOL}.test`);
    for (const s of state.sheets) {
      await ok(api(page, 'admin/subjects/allocate', { stream_id: s.stream_id, subject_id: s.subject_id, teacher_id: teacher.id }), 'allocate');
    }
    // The sheet typed in the browser: the child's stream, its first subject.
    state.sheet = state.sheets.find((s) => s.class_name === child.class_name);
  }));

test('the admin copies the CSEE scheme, edits it, gives it to the class and renames an assessment', () =>
  withPage('results grading set-up', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.goto('/admin/results');
    await page.getByTestId('schemes-link').click();
    await expectPath(page, '/admin/grading/schemes');
    await page.locator('#copy-from').selectOption('preset:necta-csee-2016');
    await page.locator('#copy-name').fill('Our CSEE');
    await page.getByTestId('copy-scheme').getByRole('button').click();
    await expectVisible(page.getByTestId('scheme-title').getByText('Our CSEE (v1)'), 'the copy opens');

    // A bad band: refused with the row named, nothing saved.
    await page.locator('input[name="bands[0][min]"]').fill('abc');
    await page.getByTestId('save-scheme').click();
    await expectVisible(page.getByTestId('form-errors').getByText(/Row 1/), 'the error names the band\'s row');
    const schemePage = new URL(page.url()).pathname;
    // A good edit: the A band's English remark.
    await page.locator('input[name="bands[0][remark_en]"]').fill('Outstanding');
    await page.getByTestId('save-scheme').click();
    await expectPath(page, schemePage);
    await page.reload();
    assert.equal(await page.locator('input[name="bands[0][remark_en]"]').inputValue(), 'Outstanding', 'the edit is saved');
    await shot(page, 'grading-scheme');

    // The class uses it, and its first assessment gets a clearer name.
    await page.goto('/admin/results');
    await page.locator(`li[data-level="${state.level}"]`).getByTestId('grading-link').click();
    await expectVisible(page.getByTestId('grading-title'), 'the class set-up page');
    const ourScheme = page.locator('#scheme option', { hasText: 'Our CSEE (v1)' });
    await page.locator('#scheme').selectOption(await ourScheme.getAttribute('value'));
    await page.getByTestId('choose-scheme').getByRole('button').click();
    await expectVisible(page.getByTestId('scheme-in-use').getByText('Our CSEE (v1)'), 'the class uses the copy');
    const firstName = page.locator('input[name="rows[0][name]"]');
    await firstName.fill('Monthly test (March)');
    // The post redirects back here: reload only once that navigation has landed (a reload
    // racing it fails with "not attached to an active page").
    const saved = page.waitForEvent('framenavigated');
    await page.getByTestId('assessments-form').getByRole('button').click();
    await saved;
    await page.waitForLoadState('load');
    await page.reload();
    assert.equal(await page.locator('input[name="rows[0][name]"]').inputValue(), 'Monthly test (March)', 'the assessments are saved');
    await shot(page, 'grading-class');
  }));

test('a teacher enters marks in the grid, one of them while the server is unreachable, and submits', () =>
  withPage('results teacher', async (page) => {
    await signIn(page, { school: SCHOOL, email: `teacher@${SCHOOL}.test` });
    await expectPath(page, '/teacher');
    await page.getByTestId('marks-link').click();
    await expectPath(page, '/teacher/marks');
    const href = `/teacher/marks/${state.term}/${state.sheet.stream_id}/${state.sheet.subject_id}`;
    await page.locator(`a[href="${href}"]`).click();
    await expectPath(page, href);
    await page.waitForLoadState('networkidle');

    // Checked as typed, in the cell (this also proves the grid is hydrated).
    const first = page.locator('#cell-0-0');
    await first.fill('abc');
    await expectVisible(page.locator('.cell-error'), 'the error in the cell');
    // A row by keyboard: Tab moves right; the term score and grade follow live.
    await first.fill('80');
    await page.keyboard.press('Tab');
    await page.keyboard.type('70');
    await page.keyboard.press('Tab');
    await page.keyboard.type('60');
    await page.keyboard.press('Tab');
    await page.keyboard.type('75');
    const row = page.locator('tbody tr').first();
    await expectVisible(row.getByTestId('live-grade').getByText('B'), 'the live grade B');
    assert.equal((await row.getByTestId('live-score').innerText()).trim(), '73');
    await page.locator('[data-testid="save-status"][data-state="saved"]').waitFor({ timeout: TIMEOUT });
    // Enter moves down.
    await page.locator('#cell-1-0').click();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'cell-2-0', 'Enter moves to the next student');

    // The server becomes unreachable: the entry is kept on the device and the teacher sees it.
    await page.context().setOffline(true);
    await page.locator('#cell-1-0').fill('55');
    await page.locator('[data-testid="save-status"][data-state="waiting"]').waitFor({ timeout: TIMEOUT });
    const kept = await page.evaluate(() => Object.keys(localStorage).map((k) => localStorage.getItem(k)).join(' '));
    assert.match(kept, /"value":"55"/, 'the unsaved entry is in localStorage');
    await shot(page, 'results-offline');
    await page.context().setOffline(false);
    await page.locator('[data-testid="save-status"][data-state="saved"]').waitFor({ timeout: 20_000 });
    const view = await ok(api(page, 'results/sheet', sheetForm(state.sheet)), 'reload the sheet');
    assert.equal(view.rows[1].entries[0].text, '55', 'the offline entry reached the server');
    assert.equal(view.rows[0].entries[3].text, '75');

    // The rest of this class's sheets, then submit the browser's sheet with its button.
    let salt = 0;
    for (const s of state.sheets) await fillSheet(page, s, salt++);
    await page.reload();
    await page.getByTestId('sheet-submit').getByRole('button').click();
    await page.locator('[data-status="submitted"]').first().waitFor();
    for (const s of state.sheets.filter((x) => x !== state.sheet)) {
      await ok(api(page, 'results/step', { ...sheetForm(s), step: 'submit' }), 'submit');
    }
    await shot(page, 'results-submitted');
  }));

test('the head teacher returns the sheet with a comment; the teacher corrects and resubmits; it is approved', () =>
  withPage('results return and approve', async (page) => {
    const adminSheet = `/admin/results/sheet/${state.term}/${state.sheet.stream_id}/${state.sheet.subject_id}`;
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.goto('/admin/results');
    await expectVisible(page.getByTestId('results-overview'), 'the overview of sheets');
    await page.goto(adminSheet);
    await page.getByLabel('Comment').fill('Row 1: the exam mark looks too low, please check the script.');
    await page.getByTestId('sheet-return').getByRole('button').click();
    await page.locator('[data-status="returned"]').first().waitFor();
    await page.context().clearCookies();

    await signIn(page, { school: SCHOOL, email: `teacher@${SCHOOL}.test` });
    await expectPath(page, '/teacher');
    await page.goto('/teacher/marks');
    await expectVisible(page.getByText('the exam mark looks too low'), 'the comment in the teacher\'s list');
    await page.goto(`/teacher/marks/${state.term}/${state.sheet.stream_id}/${state.sheet.subject_id}`);
    await expectVisible(page.getByTestId('returned-comment'), 'the comment on the sheet');
    await page.waitForLoadState('networkidle');
    await page.locator('#cell-0-3').fill('76');
    await page.locator('[data-testid="save-status"][data-state="saved"]').waitFor({ timeout: TIMEOUT });
    await page.reload();
    await page.getByTestId('sheet-submit').getByRole('button').click();
    await page.locator('[data-status="submitted"]').first().waitFor();
    await page.context().clearCookies();

    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.goto(adminSheet);
    await page.getByTestId('sheet-approve').getByRole('button').click();
    await page.locator('[data-status="approved"]').first().waitFor();
    for (const s of state.sheets.filter((x) => x !== state.sheet)) {
      await ok(api(page, 'results/step', { ...sheetForm(s), step: 'approve' }), 'approve');
    }
    await shot(page, 'results-approved');
  }));

test('the admin publishes the class and the parent sees the result and the trend chart', () =>
  withPage('results publish and parent', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.goto('/admin/results');
    const cls = page.locator(`li[data-level="${state.level}"]`);
    await cls.getByTestId('publish-form').getByRole('button').click();
    await expectVisible(cls.locator('.status-published'), 'the class shows as published');
    await cls.getByTestId('broadsheet-link').click();
    await expectVisible(page.getByTestId('broadsheet'), 'the broadsheet');
    await expectVisible(page.getByTestId('division-summary'), 'the division summary');
    await shot(page, 'results-broadsheet');
    await page.context().clearCookies();

    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    await page.locator(`a[href="/portal/results/${state.child.student_id}"]`).click();
    await expectVisible(page.getByTestId('published-term'), 'the published term');
    await expectVisible(page.locator('[data-testid="trend-chart"] svg'), 'the trend chart');
    const division = (await page.getByTestId('result-division').first().innerText()).trim();
    assert.ok(division.length > 0, 'a division, or the reason there is none');
    await shot(page, 'results-parent');
  }));

test('the admin prints the stream\'s report cards, watches them finish and downloads the ZIP; the parent downloads the card', () =>
  withPage('report cards', async (page) => {
    await signIn(page, { school: SCHOOL, email: `admin@${SCHOOL}.test` });
    await expectPath(page, '/admin');
    await page.goto('/admin/cards');
    // The card's logo and the stream's remarks first, as a head teacher would before printing.
    const logoFile = new URL('../../documents/src/testdata/logo.png', import.meta.url).pathname;
    await page.locator('input[name="logo"]').setInputFiles(logoFile);
    await page.getByRole('button', { name: 'Upload logo' }).click();
    await expectVisible(page.getByTestId('card-logo'), 'the uploaded logo');
    await page.locator(`a[data-testid="remarks-link"][href*="${state.sheet.stream_id}"]`).click();
    await expectVisible(page.getByTestId('remarks-form'), 'the stream\'s remarks form');
    await page.locator('#days-open').fill('62');
    const firstRow = page.locator('[data-testid="remarks"] tbody tr').first();
    await firstRow.locator('input[name="rows[0][days_present]"]').fill('60');
    await firstRow.locator('input[name="rows[0][conduct]"]').fill('Very good');
    await firstRow.locator('textarea[name="rows[0][class_comment]"]').fill('Works hard; keep it up.');
    await firstRow.locator('textarea[name="rows[0][head_comment]"]').fill('An excellent term.');
    await page.getByRole('button', { name: 'Save remarks' }).click();
    await expectVisible(page.getByTestId('remarks-saved'), 'the saved notice');
    assert.equal(await page.locator('input[name="rows[0][days_present]"]').inputValue(), '60', 'kept');
    await shot(page, 'card-remarks');
    await page.goto('/admin/cards');
    const cls = page.locator(`li[data-level="${state.level}"]`);
    await expectVisible(cls, 'the published class');
    await cls.locator('select').selectOption(state.sheet.stream_id);
    await cls.getByTestId('request-cards').getByRole('button').click();
    await page.waitForLoadState('networkidle');
    // The bar follows the batch's events until it is done (the worker runs in the server).
    await page.locator('[data-testid="batch-progress"][data-status="done"]').first().waitFor({ timeout: 60_000 });
    await shot(page, 'cards-done');
    await page.reload();
    const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('cards-zip').first().click()]);
    assert.match(zip.suggestedFilename(), /\.zip$/);
    const zipPath = await zip.path();
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(zipPath).subarray(0, 2).toString(), 'PK', 'a ZIP archive');
    await page.context().clearCookies();

    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    await page.goto(`/portal/results/${state.child.student_id}`);
    const [card] = await Promise.all([page.waitForEvent('download'), page.getByTestId('card-download').first().click()]);
    assert.match(card.suggestedFilename(), /\.pdf$/);
    assert.equal(readFileSync(await card.path()).subarray(0, 5).toString(), '%PDF-', 'a PDF');
  }));
