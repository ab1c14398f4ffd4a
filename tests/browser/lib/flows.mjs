// flows.mjs - what a payer or a staff member does, step by step, for the specs: pages waited
// for by their data-page and data-status hooks (docs/PAGES.md), never by the clock.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, audit } from './suite.mjs';
import { BANKSIM, FEEGATE } from './feegate.mjs';

/**
 * Waits until the page shows <main data-page=NAME> (and data-status=STATUS when given),
 * across navigations and the receipt's own refreshes; fails naming what is shown instead.
 */
export async function waitForPage(page, name, { status, timeout = 15000 } = {}) {
  const selector = `main[data-page="${name}"]${status ? `[data-status="${status}"]` : ''}`;
  try {
    await page.waitForSelector(selector, { timeout });
  } catch (err) {
    const main = page.locator('main[data-page]').first();
    const shown = (await main.count()) === 0 ? 'no <main data-page>'
      : `data-page="${await main.getAttribute('data-page')}" data-status="${await main.getAttribute('data-status')}"`;
    throw new Error(`waited ${timeout} ms for ${selector} at ${page.url()}; the page shows ${shown}`);
  }
}

/**
 * On banksim's VNPay page (the page a payment's redirect_url opens): checks it is the bank's,
 * presses Approve (or Decline), and waits until the bank has sent its IPN and the browser is
 * back at feegate. Returns {txnRef, amount} as the bank's page showed them.
 */
export async function decideAtVnpay(page, outcome = 'approve') {
  await page.waitForURL((url) => url.href.startsWith(`${BANKSIM}/vnpay/`));
  const txnRef = (await page.locator('#txn_ref').textContent()).trim();
  const amount = Number((await page.locator('#amount').textContent()).replace(/\D/g, ''));
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(FEEGATE)),
    page.locator(`button[name="outcome"][value="${outcome}"]`).click(),
  ]);
  return { txnRef, amount };
}

/**
 * From the bill page (pay-bill): presses "pay with VNPay", approves at banksim's VNPay page
 * and waits for the receipt to say paid (it shows processing until the IPN has been applied).
 * Audits the bill and the receipt. Returns what decideAtVnpay returns.
 */
export async function payWithVnpay(page) {
  await waitForPage(page, 'pay-bill');
  await audit(page);
  await page.locator('form[action$="/start"]:has(input[name="method"][value="vnpay"]) button').click();
  const decided = await decideAtVnpay(page, 'approve');
  await waitForPage(page, 'pay-receipt', { status: 'paid' });
  await audit(page);
  return decided;
}

/**
 * A bank transfer into the VietQR collection account, reported to feegate by banksim's SePay
 * feed (POST /control/sepay/transfer), with the order's code in the memo. Returns once feegate
 * has answered the webhook; fails unless it answered 200.
 */
export async function sepayTransfer({ amount, code, content = 'CK hoc phi' }) {
  const res = await fetch(`${BANKSIM}/control/sepay/transfer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount, content, codes: [code], transfer_type: 'in' }),
  });
  const answer = await res.json();
  assert.equal(res.status, 200, `banksim transfer: ${JSON.stringify(answer)}`);
  assert.deepEqual(answer.responses.map((r) => r.status), [200], `feegate's answers: ${JSON.stringify(answer.responses)}`);
  return answer;
}

/**
 * Logs in at /staff/login (fields email, password and the form's csrf_token) and waits for the
 * overview (staff-overview). Audits both pages.
 */
export async function staffLogin(page, email, password) {
  await page.goto(`${FEEGATE}/staff/login`);
  await waitForPage(page, 'staff-login');
  await audit(page);
  const form = page.locator('form:has(input[name="password"])');
  assert.notEqual(await form.locator('input[name="csrf_token"]').getAttribute('value'), '', 'csrf_token is empty');
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="password"]').fill(password);
  await form.locator('button[type="submit"], input[type="submit"]').first().click();
  await waitForPage(page, 'staff-overview');
  await audit(page);
}

/** Clicks what starts a download and saves the file under ARTIFACTS/downloads/. */
export async function downloadFile(page, locator) {
  const [download] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  const failure = await download.failure();
  assert.equal(failure, null, `download of ${download.url()} failed`);
  const dir = join(ARTIFACTS, 'downloads');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, download.suggestedFilename());
  await download.saveAs(path);
  return { path, filename: download.suggestedFilename(), url: download.url() };
}

/**
 * Reads an RFC 4180 CSV file as feegate writes it (UTF-8 with a byte order mark, CRLF,
 * quoted fields with "" inside): {header, rows} with each row an object by header name.
 */
export function readCsv(path) {
  let text = readFileSync(path, 'utf8');
  assert.ok(text.startsWith('\uFEFF'), `${path} has no byte order mark`);
  text = text.slice(1);
  const records = [];
  let record = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field), records.push(record), (record = []), (field = ''), i++;
    } else field += c;
  }
  assert.ok(!quoted, `${path}: a quoted field is not closed`);
  if (field !== '' || record.length > 0) record.push(field), records.push(record);
  const [header, ...lines] = records;
  const rows = lines.map((r) => {
    assert.equal(r.length, header.length, `${path}: a row of ${r.length} fields under ${header.length} headers`);
    return Object.fromEntries(header.map((h, i) => [h, r[i]]));
  });
  return { header, rows };
}
