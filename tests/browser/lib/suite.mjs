// suite.mjs - the specs' registry and what every page gets: an axe-core audit and
// screenshots at a phone's and a desk's width.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// The widths every page is photographed at: a small phone and a desk.
export const WIDTHS = [360, 1280];
const SHOT_HEIGHT = 800;
// Impacts that fail a page; minor and moderate ones are reported only.
const FAILING_IMPACTS = new Set(['serious', 'critical']);

export const ARTIFACTS = process.env.FEEGATE_BROWSER_ARTIFACTS ?? 'browser-artifacts';

export const tests = [];
/** Registers a spec. options.viewport: {width, height} (default a 360x800 phone). */
export function test(name, fn, options = {}) {
  tests.push({ name, fn, viewport: options.viewport ?? { width: 360, height: 800 } });
}

// What the run saw: every audit's violations and every screenshot written.
export const audits = [];
export const screenshots = [];
const photographed = new Set();

// The test a page belongs to (set by the runner): its name and the paths audited.
const owners = new WeakMap();
export function adopt(page, testState) {
  owners.set(page, testState);
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

/**
 * Audits the page shown now: axe-core over the whole document (every violation recorded;
 * serious or critical ones fail the test, all listed), then, the first time a page of this
 * name is seen in the run, full-page screenshots at each of WIDTHS. name defaults to the
 * page's data-page hook. Every feegate page a test visits must be audited (the runner checks).
 */
export async function audit(page, name) {
  name ??= await page.locator('main[data-page]').first().getAttribute('data-page', { timeout: 1000 });
  const state = owners.get(page);
  state?.audited.add(new URL(page.url()).pathname);
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const violations = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => n.target.join(' ')),
  }));
  audits.push({ test: state?.name, page: name, url: page.url(), violations });
  if (!photographed.has(name)) {
    photographed.add(name);
    await photograph(page, name);
  }
  const failing = violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  if (failing.length > 0) {
    const list = failing.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n      at ${v.nodes.join(', ')}`);
    throw new Error(
      `ACCESSIBILITY: axe-core found ${failing.length} serious or critical violation(s) on ` +
        `${name} (${page.url()}); the page must be fixed, not this check:\n${list.join('\n')}`,
    );
  }
  return violations;
}

async function photograph(page, name) {
  const dir = join(ARTIFACTS, 'screenshots');
  mkdirSync(dir, { recursive: true });
  const before = page.viewportSize();
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: SHOT_HEIGHT });
    const path = join(dir, `${slug(name)}-${width}.png`);
    await page.screenshot({ path, fullPage: true });
    screenshots.push(path);
  }
  await page.setViewportSize(before);
}

export function writeAuditReport() {
  writeFileSync(join(ARTIFACTS, 'axe.json'), JSON.stringify(audits, null, 2));
}
