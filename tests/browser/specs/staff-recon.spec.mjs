// A finance officer's day with the bank at a desk's width: the bank's camt.053 of what it was
// paid, uploaded through the statements page (a file input, multipart), a reconciliation run,
// the exception it finds resolved with an action and the note it requires (refused without
// one), the period's close refused while its day is not over (saying from when), and the
// collections CSV read back against what was paid. A school's accountant may open neither
// the city's statements nor another school's order.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, audit, test } from '../lib/suite.mjs';
import { BANKSIM, FEEGATE, createOrder, fixture, startPayment } from '../lib/feegate.mjs';
import { downloadFile, readCsv, sepayTransfer, staffLogin, waitForPage } from '../lib/flows.mjs';

const DESK = { viewport: { width: 1280, height: 800 } };
const { staff } = fixture;
// The matching job decides a run's lines within a few of its rounds; the page reloads itself
// (data-status="matching") until then.
const MATCHED_WITHIN_MS = 30000;

/** Today's business day (GMT+7) as yyyy-mm-dd: the day banksim's statement covers. */
function businessDay() {
  return new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 10);
}

/**
 * A school fee paid by VNPay without a browser: the payment started through the API, VNPay's page
 * opened and the payment approved at banksim. The gateway pays the day's VNPay money into the
 * collection account as one settlement-batch line, which no order's code names.
 */
async function payByVnpay() {
  const order = await createOrder('school', { amount: 250000 });
  const payment = await startPayment('school', order.id, 'vnpay');
  const opened = await fetch(payment.redirect_url);
  assert.equal(opened.status, 200, "VNPay's page");
  await opened.arrayBuffer();
  const res = await fetch(`${BANKSIM}/control/vnpay/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ txn_ref: new URL(payment.redirect_url).searchParams.get('vnp_TxnRef'), outcome: 'approve' }),
  });
  assert.equal(res.status, 200, `banksim VNPay approval: ${await res.text()}`);
}

/** A transfer on the collection account through banksim's SePay feed; fails unless feegate took it. */
async function bankTransfer(body) {
  const res = await fetch(`${BANKSIM}/control/sepay/transfer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  assert.equal(res.status, 200, `banksim transfer: ${JSON.stringify(answer)}`);
  assert.deepEqual(answer.responses.map((r) => r.status), [200], `feegate's answers: ${JSON.stringify(answer.responses)}`);
  return answer;
}

test('finance uploads the bank statement, reconciles, resolves the exception with a note and checks the collections CSV', async ({ page }) => {
  // What the bank was paid today: a school fee by VietQR transfer (reported by the SePay feed),
  // and a fee the bank took from the account, naming no order: the line nothing explains.
  // Both on one business day: made again when midnight (GMT+7) fell between them.
  const amount = 3150000;
  let day, lot, order, fee;
  for (let round = 0; round < 2 && day === undefined; round++) {
    const before = businessDay();
    lot = `recon-${Date.now()}`;
    order = await createOrder('school', { amount, metadata: { lot } });
    await sepayTransfer({ amount, code: order.code, content: 'HOC PHI HK1' });
    fee = await bankTransfer({ amount: 27500, content: 'PHI QUAN LY TAI KHOAN', transfer_type: 'out' });
    await payByVnpay();
    if (businessDay() === before) day = before;
  }
  assert.ok(day, 'the payments straddled midnight twice');
  const res = await fetch(`${BANKSIM}/control/statement?format=camt053&date=${day}`);
  assert.equal(res.status, 200, 'banksim statement');
  const statement = join(ARTIFACTS, `statement-${day}.camt053.xml`);
  writeFileSync(statement, Buffer.from(await res.arrayBuffer()));

  // the statement through the page's file input
  await staffLogin(page, staff.finance, staff.password);
  await page.goto(`${FEEGATE}/staff/statements`);
  await waitForPage(page, 'staff-statements');
  await audit(page);
  const upload = page.locator('form[data-form="statement-upload"]');
  await upload.locator('input[type="file"][name="file"]').setInputFiles(statement);
  await upload.locator('select[name="format"]').selectOption('camt.053');
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url() === `${FEEGATE}/staff/statements`),
    upload.locator('button[type="submit"]').click(),
  ]);
  assert.match(request.headers()['content-type'], /^multipart\/form-data; boundary=/);
  const imported = page.locator('[data-import][data-duplicate]');
  await imported.waitFor();
  await waitForPage(page, 'staff-statements');
  await audit(page, 'staff-statements-imported');
  assert.equal(await imported.getAttribute('data-duplicate'), '0', 'the statement was imported before');
  const lines = Number(await imported.locator('[data-lines]').getAttribute('data-lines'));
  assert.ok(lines >= 2, `the import read ${lines} lines; the day has the fee and the school fee at least`);

  // a reconciliation of the collection account for today
  await page.goto(`${FEEGATE}/staff/reconciliations`);
  await waitForPage(page, 'staff-reconciliations');
  await audit(page);
  const run = page.locator('form[data-form="reconciliation-create"]');
  await run.locator('input[name="account"]').fill(fixture.vietqr.account_no);
  await run.locator('input[name="from"]').fill(day);
  await run.locator('input[name="to"]').fill(day);
  await run.locator('button[type="submit"]').click();
  await waitForPage(page, 'staff-reconciliation', { status: 'ready', timeout: MATCHED_WITHIN_MS });
  await audit(page);
  const recUrl = page.url();
  assert.match(new URL(recUrl).pathname, /^\/staff\/reconciliations\/rec_/);
  const exceptions = Number(await page.locator('[data-exceptions]').getAttribute('data-exceptions'));
  assert.ok(exceptions >= 1, `the summary counts ${exceptions} exceptions`);

  // the school fee matched the feed's transfer; the bank's fee is in the exception queue
  const paidRow = page.locator('tr[data-item]', { hasText: order.code });
  assert.equal(await paidRow.getAttribute('data-state'), 'matched', 'the school fee line');
  const feeRow = page.locator('tr[data-item][data-state="bank_only"]', { hasText: 'PHI QUAN LY TAI KHOAN' });
  assert.equal(await feeRow.count(), 1, `one bank_only line for the fee (${fee.reference_code})`);
  assert.match(await feeRow.textContent(), /27\.500/);
  const item = await feeRow.getAttribute('data-item');
  const resolve = feeRow.locator('form[data-form="resolve"]');
  // staff read the states and actions in their language; the codes stay in the hooks
  assert.match(await feeRow.textContent(), /Chỉ có ở ngân hàng/, 'the state in Vietnamese');
  const values = (form) => form.locator('select[name="action"] option').evaluateAll((o) => o.map((x) => x.value).join());
  // a debit (the bank's fee) can be accepted or written off, not applied to an order or refunded
  assert.equal(await values(resolve), 'accept,write_off', 'the actions a debit offers');
  assert.equal(await resolve.locator('input[name="order"]').count(), 0, 'an order field on a debit');
  // money received that matched nothing may be applied: its order and amount show once apply is chosen
  const credit = page.locator('tr[data-item][data-state="bank_only"]', { hasText: 'VNPAY SETTLEMENT BATCH' });
  assert.equal(await credit.count(), 1, 'one bank_only line for the VNPay settlement batch');
  // waiting for its settlement file, never offered to a bill; why, in the page's language
  assert.match(await credit.textContent(), /tệp quyết toán chưa được nhập/, 'why the payout line waits');
  const creditForm = credit.locator('form[data-form="resolve"]');
  assert.equal(await values(creditForm), 'accept,write_off,refund,apply', 'the actions money received offers');
  assert.equal(await creditForm.locator('input[name="order"]').isVisible(), false, 'the order field before apply');
  await creditForm.locator('select[name="action"]').selectOption('apply');
  assert.equal(await creditForm.locator('input[name="order"]').isVisible(), true, 'the order field once apply is chosen');
  assert.equal(await creditForm.locator('input[name="amount"]').isVisible(), true, 'the amount once apply is chosen');
  await resolve.locator('select[name="action"]').selectOption('write_off');

  // without a note: the browser does not send the form, and feegate refuses it when sent
  const posted = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith(`/items/${item}/resolve`)) posted.push(r);
  });
  const note = resolve.locator('input[name="note"]');
  await resolve.locator('button[type="submit"]').click();
  assert.equal(await note.evaluate((el) => el.validity.valueMissing), true, 'the note is not required');
  assert.notEqual(await note.evaluate((el) => el.validationMessage), '', 'no message about the note');
  await resolve.evaluate((form) => { form.noValidate = true; });
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/items/${item}/resolve`)),
    resolve.locator('button[type="submit"]').click(),
  ]);
  assert.equal(refused.status(), 400, 'a resolve without a note');
  await waitForPage(page, 'staff-error');
  await audit(page, 'staff-error-note');
  await page.getByText(/Cần ghi chú \(1 đến 1000 ký tự\)/).waitFor();
  assert.equal(posted.length, 1, 'the browser sent the form without its note');
  assert.equal(await page.locator('a[data-home]').getAttribute('href'), '/staff', 'the refusal\'s way to the overview');

  // back to the run from the refusal; nothing changed; then resolved with the note
  await page.locator('button[data-back]').click();
  await page.waitForURL(recUrl);
  await waitForPage(page, 'staff-reconciliation', { status: 'ready' });
  await audit(page);
  const row = page.locator(`tr[data-item="${item}"]`);
  assert.equal(await row.locator('[data-resolution]').count(), 0, 'the refused resolve changed the item');
  await row.locator('select[name="action"]').selectOption('write_off');
  await row.locator('input[name="note"]').fill('Phí quản lý tài khoản ngân hàng thu tháng này: ghi vào chi phí.');
  await row.locator('button[type="submit"]').click();
  await page.locator(`tr[data-item="${item}"] [data-resolution="write_off"]`).waitFor();
  await waitForPage(page, 'staff-reconciliation');
  await audit(page, 'staff-reconciliation-resolved');
  assert.equal(await values(row), 'undo', 'a resolved item offers undo only');
  assert.equal(await row.locator('[data-resolution="write_off"]').textContent(), 'Xóa sổ', 'the resolution in Vietnamese');

  // today's period cannot close before the day is over: the page says from when, and the way back
  const closeForm = page.locator('form[data-form="close"]');
  assert.match(await closeForm.textContent(), /các ngày trước kỳ đã khóa/, 'what closing asks, before the button');
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/close') && r.status() === 409),
    closeForm.locator('button[type="submit"]').click(),
  ]);
  await waitForPage(page, 'staff-error');
  await audit(page, 'staff-reconciliation-close-refused');
  await page.getByText(/Ngày cuối của kỳ chưa qua: khóa sổ được từ \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(GMT\+7\)/).waitFor();
  await page.locator('button[data-back]').click();
  await page.waitForURL(recUrl);
  await waitForPage(page, 'staff-reconciliation', { status: 'ready' });
  assert.equal(await page.locator('form[data-form="close"]').count(), 1, 'the period is still open');

  // the collections CSV from that day grouped by this run's lot: exactly the school fee paid
  await page.goto(`${FEEGATE}/staff/reports`);
  await waitForPage(page, 'staff-reports');
  await audit(page);
  const filters = page.locator('form:has(input[name="group_by"])');
  await filters.locator('select[name="report"]').selectOption('collections');
  await filters.locator('input[name="from"]').fill(day);
  await filters.locator('input[name="to"]').fill(businessDay());
  await filters.locator('input[name="group_by"]').fill('metadata.lot');
  await filters.locator('button[type="submit"]').click();
  await page.waitForURL((url) => url.searchParams.get('group_by') === 'metadata.lot');
  await waitForPage(page, 'staff-reports');
  await audit(page, 'staff-reports-grouped');
  const file = await downloadFile(page, page.locator('a[data-download="csv"][href*="collections"]').first());
  const { header, rows } = readCsv(file.path);
  const column = header.find((h) => h.includes('lot'));
  assert.ok(column && header.includes('collected') && header.includes('count'), `the CSV's header: ${header.join(',')}`);
  const ours = rows.filter((r) => r[column] === lot);
  assert.equal(ours.length, 1, `rows of ${lot} in ${file.filename}: ${JSON.stringify(rows)}`);
  assert.equal(ours[0].collected, String(amount), 'collected for the lot');
  assert.equal(ours[0].count, '1', 'payments of the lot');
}, DESK);

test("a school's accountant may not open the statements (403) nor the water company's order (404), only its own", async ({ page }) => {
  const theirs = await createOrder('water', { amount: 212000, fee_type: 'utility', category: 'water' });
  const own = await createOrder('school', { amount: 1800000 });
  await staffLogin(page, staff.accountant, staff.password);
  assert.equal(await page.locator('[data-role]').first().getAttribute('data-role'), 'accountant');
  assert.equal(await page.locator('nav.staff-nav a[href="/staff/statements"]').count(), 0,
    'the navigation offers the accountant the statements');
  let res = await page.goto(`${FEEGATE}/staff/statements`);
  assert.equal(res.status(), 403, '/staff/statements for an accountant');
  await waitForPage(page, 'staff-forbidden');
  await audit(page);
  assert.equal(await page.locator('form[data-form="statement-upload"]').count(), 0);
  res = await page.goto(`${FEEGATE}/staff/orders/${theirs.id}`);
  assert.equal(res.status(), 404, "the water company's order");
  await waitForPage(page, 'staff-not-found');
  await audit(page);
  res = await page.goto(`${FEEGATE}/staff/orders/${own.id}`);
  assert.equal(res.status(), 200, "the school's own order");
  await waitForPage(page, 'staff-order');
  await audit(page);
  await page.getByText(own.code).first().waitFor();
}, DESK);
