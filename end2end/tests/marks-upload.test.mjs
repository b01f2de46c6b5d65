// Marks from a file, end to end in the browser: the demo teacher opens one of their sheets,
// uploads a CSV with a bad row and sees every problem with its line (nothing saved), uploads
// the corrected file, sees the preview of what will change, confirms, and the grid then shows
// the uploaded marks. The file is the format the server reads (src/results/upload.rs):
// admission_no, name, then a column per assessment headed by its key; a blank leaves a mark
// as it is.
//
// The sheet is in a class other than the parent's child's (results.test.mjs sets that class
// up, renames an assessment there, which marks would lock, and publishes it), and still open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHOOL, withPage, shot, signIn, expectPath, expectVisible, serverFn } from '../lib.mjs';

/** A server function called from the page (same origin), its JSON answer. */
async function api(page, endpoint, form) {
  const r = await serverFn(page, endpoint, form);
  assert.ok(r.status >= 200 && r.status < 300, `${endpoint}: ${r.status} ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

const csvField = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const csv = (rows) => rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
/** `wanted`, unless the sheet has it already (a second run on the same data still changes marks). */
const differing = (current, wanted, other) => (current === wanted ? other : wanted);

/** What the preview and the save say, in the page's language (the demo teacher reads Kiswahili). */
const WORDS = {
  en: {
    summary: (n, students) => `${n} marks will change for ${students} students.`,
    confirm: (n) => `Save ${n} marks`,
    saved: (n) => `${n} marks saved.`,
  },
  sw: {
    summary: (n, students) => `Alama ${n} zitabadilika kwa wanafunzi ${students}.`,
    confirm: (n) => `Hifadhi alama ${n}`,
    saved: (n) => `Alama ${n} zimehifadhiwa.`,
  },
};

test('a teacher uploads a marks file for a sheet: errors shown by line, then a preview, confirm, and the grid shows the marks', () =>
  withPage('marks upload', async (page) => {
    await signIn(page, { school: SCHOOL, email: `parent@${SCHOOL}.test` });
    await expectPath(page, '/portal');
    const family = await api(page, 'portal/family', {});
    const childClass = family.children[0].class_name;
    await page.context().clearCookies();

    await signIn(page, { school: SCHOOL, email: `teacher@${SCHOOL}.test` });
    await expectPath(page, '/teacher');
    await page.getByTestId('marks-link').click();
    await expectPath(page, '/teacher/marks');
    const mine = await api(page, 'teacher/marks', {});
    const open = (s) => s.status === null || s.status === 'draft' || s.status === 'returned';
    const sheet = mine.sheets.find((s) => open(s) && !childClass.startsWith(s.level_name));
    assert.ok(sheet, `an open sheet of the teacher outside ${childClass}: ${JSON.stringify(mine.sheets.map((s) => [s.class_name, s.status]))}`);
    const href = `/teacher/marks/${sheet.term_id}/${sheet.stream_id}/${sheet.subject_id}`;
    await page.locator(`a[href="${href}"]`).click();
    await expectPath(page, href);

    const before = await api(page, 'results/sheet', { term: sheet.term_id, stream: sheet.stream_id, subject: sheet.subject_id });
    const [a1, a2] = before.assessments.assessments;
    assert.ok(a1 && a2 && before.rows.length >= 3, 'a stream with students and two assessments');
    const [r0, r1, r2] = before.rows;
    const now = (row, col) => row.entries[col]?.text ?? '';
    // Three students: two marks; absent from the first (the second left blank: kept as it
    // is); a half mark.
    const marks = [
      [r0, differing(now(r0, 0), '61', '62'), differing(now(r0, 1), '72', '73')],
      [r1, differing(now(r1, 0), 'ABS', '55'), ''],
      [r2, differing(now(r2, 0), '48.5', '49.5'), differing(now(r2, 1), '90', '91')],
    ];
    const header = ['admission_no', 'name', a1.key, a2.key];
    const rows = marks.map(([r, m1, m2]) => [r.admission_no, r.name, m1, m2]);

    // A file with two bad rows: each shown with its line, and nothing is saved.
    const bad = csv([header, [r0.admission_no, r0.name, String(a1.max + 20), ''], ['NOT-A-STUDENT/1', 'Nobody', '50', ''], ...rows.slice(1)]);
    await page.locator('#marks-file').setInputFiles({ name: 'marks.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.getByTestId('upload-marks').locator('button[type="submit"]').click();
    await expectVisible(page.getByTestId('upload-errors'), 'the file\'s problems');
    await expectVisible(page.locator('[data-testid="upload-errors"] tr[data-line="2"][data-column="C"]'), 'the mark out of range, line 2 column C');
    await expectVisible(page.locator('[data-testid="upload-errors"] tr[data-line="3"]'), 'the unknown admission number, line 3');
    assert.equal(await page.getByTestId('upload-confirm').count(), 0, 'no way to save a file with errors');
    await shot(page, 'marks-upload-errors');
    const unchanged = await api(page, 'results/sheet', { term: sheet.term_id, stream: sheet.stream_id, subject: sheet.subject_id });
    assert.deepEqual(unchanged.rows.slice(0, 3).map((r) => r.entries), before.rows.slice(0, 3).map((r) => r.entries), 'nothing saved');

    // The corrected file: a preview of what will change (old → new), then one confirmation.
    await page.locator(`main a[href="${href}"]`).first().click();
    await expectPath(page, href);
    await page.locator('#marks-file').setInputFiles({ name: 'marks.csv', mimeType: 'text/csv', buffer: Buffer.from(csv([header, ...rows])) });
    await page.getByTestId('upload-marks').locator('button[type="submit"]').click();
    await expectVisible(page.getByTestId('upload-preview'), 'the preview');
    const preview = page.url();
    assert.match(new URL(preview).pathname, new RegExp(`^${href}/upload/[0-9a-f-]{36}$`));
    for (const [r, m1, m2] of marks) {
      const row = page.locator(`[data-testid="upload-preview"] tr[data-admission="${r.admission_no}"]`);
      await expectVisible(row, `the preview row of ${r.admission_no}`);
      const cells = row.locator('td[data-changed="true"]');
      const texts = await cells.allInnerTexts();
      const expected = [[now(r, 0), m1], [now(r, 1), m2]].filter(([, m]) => m !== '').map(([old, m]) => `${old || '—'} → ${m}`);
      assert.deepEqual(texts.map((t) => t.trim()), expected, `the changes of ${r.admission_no}`);
    }
    const changes = marks.reduce((n, [, m1, m2]) => n + (m1 ? 1 : 0) + (m2 ? 1 : 0), 0);
    const lang = await page.locator('html').getAttribute('lang');
    const words = WORDS[lang];
    assert.ok(words, `a language of the test: ${lang}`);
    assert.ok((await page.getByTestId('upload-summary').innerText()).startsWith(words.summary(changes, 3)), 'the summary of the changes');
    await shot(page, 'marks-upload-preview');
    await page.getByTestId('upload-confirm').getByRole('button', { name: words.confirm(changes) }).click();
    await expectVisible(page.getByTestId('upload-saved').getByText(words.saved(changes)), 'what saving did');

    // The grid shows the uploaded marks (and the blank left the stored one as it was).
    await page.getByTestId('upload-saved').locator(`a[href="${href}"]`).click();
    await expectPath(page, href);
    await page.waitForLoadState('networkidle');
    // The grid is an island: its inputs hold their values once it is hydrated.
    await page
      .waitForFunction((v) => document.getElementById('cell-0-0')?.value === v, marks[0][1])
      .catch(() => assert.fail(`the grid's first cell never showed ${marks[0][1]}`));
    for (const [r, m1, m2] of marks) {
      const i = before.rows.indexOf(r);
      const cell = (col) => page.locator(`#cell-${i}-${col}`);
      assert.equal(await cell(0).inputValue(), m1, `${r.admission_no}, ${a1.name}`);
      assert.equal(await cell(1).inputValue(), m2 || now(r, 1), `${r.admission_no}, ${a2.name}`);
    }
    const after = await api(page, 'results/sheet', { term: sheet.term_id, stream: sheet.stream_id, subject: sheet.subject_id });
    assert.deepEqual(
      marks.map(([r]) => after.rows[before.rows.indexOf(r)].entries.slice(0, 2).map((e) => e?.text ?? '')),
      marks.map(([r, m1, m2]) => [m1, m2 || now(r, 1)]),
      'the server has the uploaded marks',
    );
    await shot(page, 'marks-upload-grid');
  }));
