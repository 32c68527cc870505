// Opens snapdelta's status page in headless Chromium (Debian's, through playwright-core), follows
// the link to the first table's history as a reader would, saves a screenshot of each page and
// prints what the pages show as JSON on stdout:
//   {"overview": {"status", "title", "tables": [[[cell, ...], ...], ...], "codes": [...]},
//    "history": {"url", "tables": [...], "bars": N, "barsDrawn": N}}
// Usage: node status_page.mjs URL SCREENSHOT_DIR   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from 'playwright-core';

const [url, screenshots] = process.argv.slice(2);
if (!url || !screenshots) {
  console.error('usage: node status_page.mjs URL SCREENSHOT_DIR');
  process.exit(2);
}

const cells = (page) =>
  page.$$eval('table', (tables) =>
    tables.map((table) =>
      [...table.rows].map((row) => [...row.cells].map((cell) => cell.innerText.trim()))));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],  // the tests may run as root
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 300 } });
  const response = await page.goto(url, { waitUntil: 'load' });
  const overview = {
    status: response.status(),
    title: await page.title(),
    tables: await cells(page),
    codes: await page.$$eval('code', (codes) => codes.map((code) => code.innerText)),
  };
  await page.screenshot({ path: `${screenshots}/status-page.png`, fullPage: true });

  await Promise.all([page.waitForNavigation(), page.click('table a')]);
  const bars = page.locator('svg rect');
  let barsDrawn = 0;
  for (const bar of await bars.all()) {
    const box = await bar.boundingBox();
    if (box && box.width > 0 && box.height > 0) barsDrawn += 1;
  }
  const history = {
    url: page.url(),
    tables: await cells(page),
    bars: await bars.count(),
    barsDrawn,
  };
  await page.screenshot({ path: `${screenshots}/table-page.png`, fullPage: true });
  console.log(JSON.stringify({ overview, history }));
} finally {
  await browser.close();
}
