// For `kilele bench report-cards`: prints the report cards in a folder of HTML files
// (card-00000.html …) to PDF with one kept-open Chromium (playwright-core `page.pdf`, A4), as a
// browser-based system would. Not a test.
//
// Usage: node end2end/print-cards.mjs <folder> <count>
// Prints one JSON line: {"two_pages_ms": …, "one_page_ms_per_card": …, "count": …}
//   two_pages_ms          all cards, two pages printing at once (one per core)
//   one_page_ms_per_card  the same cards on one page, one at a time, per card
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [folder, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!folder || !Number.isInteger(count) || count < 1) {
  console.error('usage: node end2end/print-cards.mjs <folder> <count>');
  process.exit(2);
}
const html = (i) => readFileSync(path.join(folder, `card-${String(i).padStart(5, '0')}.html`), 'utf8');

const browser = await chromium.launch({
  executablePath: process.env.KILELE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const print = async (page, i) => {
    await page.setContent(html(i), { waitUntil: 'load' });
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    if (pdf.length < 1000) throw new Error(`card ${i}: a ${pdf.length}-byte PDF`);
  };
  const pages = [await browser.newPage(), await browser.newPage()];
  // Warm-up: the first print of a page loads the fonts.
  await Promise.all(pages.map((p) => print(p, 0)));

  let started = performance.now();
  let next = 0;
  await Promise.all(
    pages.map(async (page) => {
      while (next < count) {
        const i = next++;
        await print(page, i);
      }
    }),
  );
  const twoPages = performance.now() - started;

  started = performance.now();
  for (let i = 0; i < count; i++) await print(pages[0], i);
  const onePage = (performance.now() - started) / count;

  console.log(JSON.stringify({ two_pages_ms: twoPages, one_page_ms_per_card: onePage, count }));
} finally {
  await browser.close();
}
