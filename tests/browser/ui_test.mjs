// Drives Debian's Chromium (through playwright-core) against a running
// agent's web page. tests/e2e/browser_ui_e2e_test.cc starts the agent,
// registers the job and runs this; by hand:
//   node tests/browser/ui_test.mjs --base http://127.0.0.1:4646 --job browser-demo \
//        --task web --artifacts build/artifacts [--docs docs/timeline.png]
// The last line says the verdict: "BROWSER-UI: PASS", "BROWSER-UI: SKIP
// <why>" (exit 77: no Chromium or no playwright-core) or "BROWSER-UI: FAIL
// <why>" (exit 1).
import { existsSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const base = args.base;
const jobId = args.job || 'browser-demo';
const task = args.task || 'web';
const artifacts = args.artifacts || 'artifacts';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

function verdict(kind, why = '') {
  console.log(`BROWSER-UI: ${kind}${why ? ' ' + why : ''}`);
  process.exit(kind === 'PASS' ? 0 : kind === 'SKIP' ? 77 : 1);
}

if (!base) verdict('FAIL', 'usage: --base http://127.0.0.1:PORT');
if (!existsSync(chromiumPath)) verdict('SKIP', `no Chromium at ${chromiumPath} (apt-get install chromium)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  verdict('FAIL', `playwright-core is not installed: run "npm ci" in tests/browser (scripts/setup.sh does) (${e.message})`);
}

// The whole run is bounded: a hung page fails instead of hanging ctest.
setTimeout(() => verdict('FAIL', 'timed out after 150 s'), 150_000).unref();

const step = (what) => console.log(`ok - ${what}`);
// Polls `check` from here (page.waitForFunction would eval in the page,
// which its CSP forbids, as it should).
async function until(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failure = null;
const pageErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  // The redirect and the jobs list, live.
  await page.goto(`${base}/`);
  if (!page.url().endsWith('/ui/')) throw new Error(`/ redirected to ${page.url()}, not /ui/`);
  const jobRow = page.locator(`#jobs tr[data-job="${jobId}"]`);
  await jobRow.waitFor();
  await jobRow.locator('.badge', { hasText: 'running' }).waitFor();
  step(`the jobs list shows ${jobId} running`);
  await page.locator('#nodes tbody tr').first().waitFor();
  step('the node is listed');

  // The job's allocations, then the allocation.
  await jobRow.locator('a').click();
  const allocLink = page.locator('#allocs tbody tr a').first();
  await allocLink.waitFor();
  step('the job shows its allocation');
  await allocLink.click();
  await page.waitForURL(/\/ui\/allocations\//);
  const taskRow = page.locator(`#task-states tr[data-task="${task}"]`);
  await taskRow.locator('.badge', { hasText: 'running' }).waitFor();
  step(`the allocation shows task ${task} running`);

  const lane = page.locator(`#timeline .lane[data-task="${task}"]`);
  await lane.locator('.seg-running').first().waitFor();
  const segmentsBefore = await lane.locator('.seg').count();
  const restartsBefore = await lane.locator('.marker[data-kind="restart"]').count();
  const eventsBefore = await page.locator('#task-events tbody tr').count();
  step(`the timeline has ${segmentsBefore} segment(s) for ${task}`);

  // Restart the task from the page; the timeline grows without a reload.
  await taskRow.locator('button.restart-task').click();
  await page.locator('#flash.info', { hasText: 'done' }).waitFor();
  await until(async () => (await lane.locator('.marker[data-kind="restart"]').count()) > restartsBefore,
    'a new restart marker');
  await until(async () => (await lane.locator('.seg').count()) > segmentsBefore, 'a new lane segment');
  await taskRow.locator('.restarts', { hasText: /^[1-9]/ }).waitFor();
  await page.locator('#task-events tbody tr[data-type="Restart Signaled"]').first().waitFor();
  // Settle on running again, then picture it.
  await until(async () => (await lane.locator('.seg').last().getAttribute('data-state')) === 'running',
    'the lane running again');
  step('the restart shows as a marker and a new segment, live');

  // Zoom in and back.
  const span = async () => page.locator('#timeline .axis text').evaluateAll((ts) => ts.map((t) => t.textContent).join('|'));
  const axisBefore = await span();
  await page.locator('button[data-zoom="in"]').click();
  if ((await span()) === axisBefore) throw new Error('zooming in did not change the axis');
  await page.locator('button[data-zoom="reset"]').click();
  step('the timeline zooms');

  mkdirSync(artifacts, { recursive: true });
  const shot = join(artifacts, 'timeline.png');
  await page.locator('.timeline-section').screenshot({ path: shot });
  step(`screenshot: ${shot}`);
  if (args.docs) {
    copyFileSync(shot, args.docs);
    step(`copied to ${args.docs}`);
  }

  // The slider: the first journal index shows the allocation as it was.
  const liveEvents = await page.locator('#task-events tbody tr').count();
  if (liveEvents <= eventsBefore) throw new Error(`task events did not grow (${eventsBefore} -> ${liveEvents})`);
  await page.locator('#history-slider').fill('0');
  await page.locator('#as-of[data-live="false"]', { hasText: 'As it was at journal index' }).waitFor();
  await page.locator('#timeline line.cursor').waitFor({ state: 'attached' });
  const pastEvents = await page.locator('#task-events tbody tr').count();
  if (pastEvents >= liveEvents) throw new Error(`the past shows ${pastEvents} events, live ${liveEvents}`);
  const pastRow = page.locator(`#task-states tr[data-task="${task}"]`);
  if (await pastRow.count()) {
    const restarts = await pastRow.locator('.restarts').textContent();
    if (restarts !== '0') throw new Error(`at the first index ${task} shows ${restarts} restarts`);
  }
  step(`the slider shows an older state (${pastEvents} of ${liveEvents} events)`);
  await page.locator('#back-live').click();
  await page.locator('#as-of[data-live="true"]').waitFor();
  await taskRow.locator('.restarts', { hasText: /^[1-9]/ }).waitFor();
  step('back to live');

  // A log line the task printed.
  await page.locator('#log', { hasText: 'hello from' }).waitFor();
  step('the log follows');

  if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
} catch (e) {
  failure = e;
} finally {
  await browser.close();
}
if (failure) verdict('FAIL', String(failure.stack || failure).split('\n').slice(0, 6).join(' | '));
verdict('PASS');
