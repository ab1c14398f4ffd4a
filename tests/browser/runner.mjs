// runner.mjs - runs every spec in specs/ in Debian's chromium (playwright-core, no browser
// download): a fresh browser context per spec, each spec's outcome on one line, then the
// axe-core results and the screenshots. Exit 1 if any spec failed (there is no skipping: every
// page the specs need is served, and one that stops answering fails its spec), or none ran.
//
//   node runner.mjs [NAME_FILTER]        (run.sh sets FEEGATE_BROWSER_FIXTURE and _ARTIFACTS)
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { ARTIFACTS, adopt, audits, screenshots, tests, writeAuditReport } from './lib/suite.mjs';
import { FEEGATE } from './lib/feegate.mjs';

const CHROMIUM = '/usr/bin/chromium';
// One spec may take this long in all; a step waits at most STEP_TIMEOUT_MS.
const TEST_TIMEOUT_MS = 90000;
const STEP_TIMEOUT_MS = 15000;

const filter = process.argv[2] ?? '';
const specDir = join(dirname(fileURLToPath(import.meta.url)), 'specs');
for (const file of readdirSync(specDir).filter((f) => f.endsWith('.spec.mjs')).sort()) {
  const before = tests.length;
  await import(pathToFileURL(join(specDir, file)));
  for (const t of tests.slice(before)) t.file = file;
}

const browser = await chromium.launch({ executablePath: CHROMIUM });
console.log(`chromium ${browser.version()} (${CHROMIUM}), feegate at ${FEEGATE}`);

async function runOne(t) {
  const context = await browser.newContext({ viewport: t.viewport, acceptDownloads: true, locale: 'vi-VN' });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const state = { name: t.name, visited: new Set(), audited: new Set() };
  const newPage = async () => {
    const page = await context.newPage();
    adopt(page, state);
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && frame.url().startsWith(FEEGATE)) state.visited.add(new URL(frame.url()).pathname);
    });
    return page;
  };
  try {
    const page = await newPage();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the spec took longer than ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS);
    });
    await Promise.race([t.fn({ page, context, newPage }), timeout]).finally(() => clearTimeout(timer));
    const unaudited = [...state.visited].filter((p) => !state.audited.has(p));
    if (unaudited.length > 0) throw new Error(`feegate pages visited but never audited: ${unaudited.join(', ')}`);
  } finally {
    await context.close();
  }
}

const counts = { passed: 0, failed: 0 };
const failures = [];
for (const t of tests.filter((x) => `${x.file} ${x.name}`.includes(filter))) {
  const started = Date.now();
  try {
    await runOne(t);
    counts.passed += 1;
    console.log(`ok      ${t.file}: ${t.name} (${Date.now() - started} ms)`);
  } catch (err) {
    counts.failed += 1;
    failures.push(t);
    console.log(`FAILED  ${t.file}: ${t.name} (${Date.now() - started} ms)\n${err.stack ?? err}\n`);
  }
}
await browser.close();
writeAuditReport();

console.log('\naxe-core, every audited page (serious and critical violations fail the spec):');
for (const a of audits) {
  const found = a.violations.map((v) => `${v.impact} ${v.id} (${v.nodes.length})`).join(', ');
  console.log(`  ${a.page.padEnd(16)} ${found || 'no violations'}   ${a.url}`);
}
console.log(`  all of them in ${join(ARTIFACTS, 'axe.json')}`);
console.log('\nscreenshots:');
for (const s of screenshots) console.log(`  ${s}`);
console.log(`\n${counts.passed} passed, ${counts.failed} failed`);
for (const t of failures) console.log(`  failed: ${t.file}: ${t.name}`);
process.exit(counts.failed > 0 || counts.passed === 0 ? 1 : 0);
