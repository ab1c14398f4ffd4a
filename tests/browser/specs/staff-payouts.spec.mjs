// A finance officer pays a school out of what it collected, at a desk: the payouts page shows what
// the school may be paid, a payout made through the form (double-clicked: one payout), one over
// the balance refused on the page with nothing written, the pending payouts gathered into a batch
// from the city's collection account, and the bank's bulk-transfer file downloaded and read. An
// auditor reads the same page without its forms; the school's accountant sees its own payouts.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder, fixture } from '../lib/feegate.mjs';
import { downloadFile, readCsv, sepayTransfer, staffLogin, waitForPage } from '../lib/flows.mjs';

const DESK = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 360, height: 800 } };
const { staff, merchants } = fixture;

/** What the page says the school may be paid, in đồng. */
async function available(page) {
  const row = page.locator(`table[data-table="owed"] tr[data-merchant="${merchants.school.id}"]`);
  return Number(await row.getAttribute('data-available'));
}

test('finance pays a school out, batches the payout and reads the bank file', async ({ page }) => {
  // the school collects 3,000,000 ₫ by a VietQR transfer reported by the bank feed
  const order = await createOrder('school', { amount: 3000000 });
  await sepayTransfer({ amount: 3000000, code: order.code, content: 'HOC PHI' });

  await staffLogin(page, staff.finance, staff.password);
  await page.locator('nav.staff-nav a[href="/staff/payouts"]').click();
  await waitForPage(page, 'staff-payouts');
  await audit(page);
  const before = await available(page);
  assert.ok(before >= 3000000, `the school may be paid ${before}`);
  const water = page.locator(`table[data-table="owed"] tr[data-merchant="${merchants.water.id}"]`);
  assert.equal(await water.locator('[data-no-account]').count(), 1, 'the water company shows no payout account');

  // more than the balance: refused on the page, in Vietnamese, the form kept as filled in
  const form = page.locator('form[data-form="payout-create"]');
  await form.locator('select[name="merchant"]').selectOption(merchants.school.id);
  await form.locator('input[name="amount"]').fill(String(before + 1));
  await form.locator('input[name="reference"]').fill('HP-QUA-SO-DU');
  await form.locator('button[type="submit"]').click();
  await page.locator('[data-error="payout_exceeds_balance"]').waitFor();
  await waitForPage(page, 'staff-payouts');
  await audit(page, 'staff-payouts-refused');
  assert.match(await page.locator('[data-error]').textContent(), /vượt quá số có thể chi trả/);
  assert.equal(Number(await page.locator('[data-balance]').getAttribute('data-balance')), before);
  assert.equal(await available(page), before, 'the refused payout took money');

  // 1.250.000 ₫ as staff type it; a double click makes one payout
  const reference = `HP-T12-${Date.now()}`;
  await form.locator('select[name="merchant"]').selectOption(merchants.school.id);
  await form.locator('input[name="amount"]').fill('1.250.000');
  await form.locator('input[name="reference"]').fill(reference);
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url() === `${FEEGATE}/staff/payouts`) posts.push(r);
  });
  await form.locator('button[type="submit"]').dblclick();
  await waitForPage(page, 'staff-payout', { status: 'pending' });
  await audit(page);
  const payoutId = await page.locator('h1 [data-payout]').getAttribute('data-payout');
  assert.match(payoutId, /^po_/);
  assert.equal(await page.locator('[data-amount]').getAttribute('data-amount'), '1250000');
  assert.match(await page.locator('[data-amount]').textContent(), /^1\.250\.000\s₫$/);
  assert.ok(posts.length >= 1, 'the form was sent');

  await page.goto(`${FEEGATE}/staff/payouts?status=pending`);
  await waitForPage(page, 'staff-payouts');
  await audit(page);
  const rows = page.locator('table[data-table="payouts"] tr[data-payout]', { hasText: reference });
  assert.equal(await rows.count(), 1, `payouts with the reference after ${posts.length} sends`);
  assert.equal(await available(page), before - 1250000, 'what the school may be paid after the payout');

  // the pending payouts into a batch from the collection account
  const batchForm = page.locator('form[data-form="batch-create"]');
  const offered = await batchForm.locator('select[name="account"] option').evaluateAll((o) => o.map((x) => x.value));
  assert.ok(offered.includes(fixture.vietqr.account_no), `accounts offered: ${offered.join()}`);
  await batchForm.locator('select[name="account"]').selectOption(fixture.vietqr.account_no);
  await batchForm.locator('button[type="submit"]').click();
  await waitForPage(page, 'staff-payout-batch', { status: 'pending' });
  await audit(page);
  const batchId = await page.locator('h1 [data-batch]').getAttribute('data-batch');
  assert.match(batchId, /^pob_/);
  const inBatch = page.locator(`table[data-table="payouts"] tr[data-payout="${payoutId}"]`);
  assert.equal(await inBatch.getAttribute('data-status'), 'batched');

  // the bank's file: one row per payout, ours with the school's account, the amount and the memo
  const file = await downloadFile(page, page.locator('a[data-download="csv"]'));
  assert.equal(file.filename, `${batchId}.csv`);
  const { header, rows: lines } = readCsv(file.path);
  assert.deepEqual(header, ['beneficiary_account', 'beneficiary_name', 'bank_bin', 'bank_name', 'amount', 'currency',
    'memo', 'payout_id', 'merchant_id']);
  const ours = lines.filter((l) => l.payout_id === payoutId);
  assert.equal(ours.length, 1, `rows of ${payoutId}: ${JSON.stringify(lines)}`);
  assert.equal(ours[0].amount, '1250000');
  assert.equal(ours[0].currency, 'VND');
  assert.equal(ours[0].beneficiary_account, merchants.school.payout_account.account_no);
  assert.equal(ours[0].bank_bin, merchants.school.payout_account.bank_bin);
  assert.equal(ours[0].bank_name, 'Vietcombank');
  assert.equal(ours[0].memo, `${reference} ${payoutId}`);
  assert.equal(ours[0].merchant_id, merchants.school.id);
  const total = lines.reduce((sum, l) => sum + Number(l.amount), 0);
  assert.equal(await page.locator('[data-total]').getAttribute('data-total'), String(total), "the file's total");

  // in English, the same page
  await page.goto(`${FEEGATE}/staff/payouts?lang=en`);
  await waitForPage(page, 'staff-payouts');
  await audit(page, 'staff-payouts-en');
  assert.equal(await page.locator('h1').textContent(), 'Payouts to merchants');
  await page.goto(`${FEEGATE}/staff/payouts?lang=vi`);
  await waitForPage(page, 'staff-payouts');
}, DESK);

test("an auditor reads the payouts without forms; the school's accountant sees only its own", async ({ page }) => {
  await staffLogin(page, staff.auditor, staff.password);
  await page.goto(`${FEEGATE}/staff/payouts`);
  await waitForPage(page, 'staff-payouts');
  await audit(page);
  assert.equal(await page.locator('form[data-form="payout-create"], form[data-form="batch-create"]').count(), 0,
    'forms offered to an auditor');
  await page.locator('nav.staff-nav form.logout button').click();
  await waitForPage(page, 'staff-login');

  await staffLogin(page, staff.accountant, staff.password);
  await page.goto(`${FEEGATE}/staff/payouts`);
  await waitForPage(page, 'staff-payouts');
  await audit(page, 'staff-payouts-accountant');
  assert.equal(await page.locator('form[data-form="payout-create"]').count(), 0, 'the payout form for an accountant');
  const owed = await page.locator('table[data-table="owed"] tr[data-merchant]').evaluateAll(
    (rows) => rows.map((r) => r.getAttribute('data-merchant')));
  assert.deepEqual(owed, [merchants.school.id], 'the merchants an accountant sees');
}, PHONE);
