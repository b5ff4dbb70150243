/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startServer, type RunningServer } from './startServer.js';

// End-to-end: the real server (embedded mode, tiny world) and the dashboard in Debian's headless
// Chromium driven by playwright-core. No browser download: the executable is /usr/bin/chromium
// (`.ci/run` installs it with apt-get when missing).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', '..', '..', 'bench-results');
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI) throw new Error(`dashboard e2e: no Chromium at ${CHROMIUM} (CI must install it)`);
  console.warn(`\n!!! dashboard e2e SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium) !!!\n`);
}

describe.skipIf(!available)('dashboard (headless Chromium)', () => {
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    // load shedding off: Chromium's start-up competes for the 2 cores and would trip the loop-delay shedder
    server = await startServer(loadConfig({}, ['--preset', 'tiny', '--port', '0', '--maxLoopDelayMs', '60000']));
    // Traffic so the panels have real data.
    const users = server.vr.sampleUsers.slice(0, 20);
    for (let i = 0; i < 60; i++) {
      const u = users[i % users.length];
      await fetch(`${server.url}/v1/recommend/homepage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: u?.userId, limit: 10 }),
      });
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders the Gantt, sources, breakers and tiers from live data, and the slate viewer changes after a watch', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    await page.goto(server.url);
    await page.waitForSelector('#gantt svg rect.bar', { timeout: 15_000 });
    const bars = await page.locator('#gantt rect.bar').count();
    expect(bars).toBeGreaterThanOrEqual(4); // retrieval, coarse, features, fine, rerank, policy for homepage
    expect(await page.locator('#sources tr.source-row').count()).toBeGreaterThan(0);
    expect(await page.locator('#breakers .breaker').count()).toBeGreaterThan(0);
    // game-day panel: shed counts, dead letters, index lifecycle, model pushes
    expect(await page.locator('#shed-counts').textContent()).toContain('adaptive_limit=');
    expect(await page.locator('#ops-table').textContent()).toContain('dead letters');
    expect(await page.locator('#ops-table').textContent()).toContain('index swaps / refusals / rollbacks');
    expect(await page.locator('#meta').textContent()).toContain('items');

    // slate viewer: pick a user, recommend, watch the top item, recommend again
    await page.waitForFunction(() => (document.getElementById('user') as HTMLSelectElement).options.length > 0);
    await page.click('#go');
    await page.waitForSelector('#slate-table tr.slate-item');
    const before = await page.locator('#slate-table tr.slate-item td:nth-child(2)').allTextContents();
    expect(before.length).toBeGreaterThan(0);
    await page.click('#watch');
    await page.waitForFunction(
      (prev) => {
        const rows = [...document.querySelectorAll('#slate-table tr.slate-item td:nth-child(2)')].map((td) => td.textContent);
        return rows.length > 0 && rows.join(',') !== prev;
      },
      before.join(','),
      { timeout: 15_000 },
    );
    const after = await page.locator('#slate-table tr.slate-item td:nth-child(2)').allTextContents();
    expect(after).not.toEqual(before);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
  }, 60_000);
});
