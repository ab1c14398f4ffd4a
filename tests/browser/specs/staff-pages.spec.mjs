// The staff pages a finance officer and an admin use between the big days: the order search
// (by code, by merchant ref, by payer and by dates, each finding the right order), the audit
// log, the locked logins an admin unlocks, and a month's bills from an XLSX file: preview (a
// wrong row stops the commit), commit and the result file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder, fixture, routeStatus } from '../lib/feegate.mjs';
import { downloadFile, readCsv, sepayTransfer, staffLogin, waitForPage } from '../lib/flows.mjs';

const DESK = { viewport: { width: 1280, height: 800 } };
const { staff, merchants } = fixture;
const DAY_MS = 24 * 3600 * 1000;

/** A business day (GMT+7) as YYYY-MM-DD, days from today. */
const businessDay = (days = 0) => new Date(Date.now() + 7 * 3600 * 1000 + days * DAY_MS).toISOString().slice(0, 10);

/** The order ids the search table shows. */
const shownOrders = (page) => page.locator('table[data-table="orders"] tr[data-order]')
  .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-order')));

test('finance finds an order by its code, its merchant ref, its payer and its day', async ({ page }) => {
  const stamp = Date.now();
  const wanted = await createOrder('school', { merchant_ref: `HP-${stamp}-A`, payer: { name: `Trần Bảo Ngọc ${stamp}`, ref: 'HS-A' } });
  const other = await createOrder('school', { merchant_ref: `HP-${stamp}-B`, payer: { name: `Lê Gia Huy ${stamp}`, ref: 'HS-B' } });
  await staffLogin(page, staff.finance, staff.password);
  await page.goto(`${FEEGATE}/staff/orders`);
  await waitForPage(page, 'staff-orders');
  await audit(page);
  // by code, through the form as typed
  const form = page.locator('form[action="/staff/orders"]');
  await form.locator('input[name="q"]').fill(wanted.code);
  await Promise.all([page.waitForURL(/[?&]q=/), form.locator('button[type="submit"]').click()]);
  await waitForPage(page, 'staff-orders');
  assert.deepEqual(await shownOrders(page), [wanted.id], 'the search by code');
  // by merchant ref
  await page.goto(`${FEEGATE}/staff/orders?q=${encodeURIComponent(other.merchant_ref)}`);
  await waitForPage(page, 'staff-orders');
  assert.deepEqual(await shownOrders(page), [other.id], 'the search by merchant ref');
  // by the payer's name (its beginning) and today's dates
  const today = businessDay(0);
  await page.goto(`${FEEGATE}/staff/orders?q=${encodeURIComponent('Trần Bảo Ngọc')}&from=${today}&to=${today}`);
  await waitForPage(page, 'staff-orders');
  const byPayer = await shownOrders(page);
  assert.ok(byPayer.includes(wanted.id), `today's orders of the payer: ${byPayer}`);
  assert.ok(!byPayer.includes(other.id), 'another payer in the search by payer');
  await audit(page, 'staff-orders-found');
  // the dates alone: today's hold both, yesterday's neither
  await page.goto(`${FEEGATE}/staff/orders?from=${today}&to=${today}&status=open`);
  await waitForPage(page, 'staff-orders');
  const todays = await shownOrders(page);
  assert.ok(todays.includes(wanted.id) && todays.includes(other.id), `today's open orders: ${todays}`);
  const yesterday = businessDay(-1);
  await page.goto(`${FEEGATE}/staff/orders?q=${wanted.code}&from=${yesterday}&to=${yesterday}`);
  await waitForPage(page, 'staff-orders');
  assert.deepEqual(await shownOrders(page), [], "yesterday's orders hold one made today");
  await audit(page, 'staff-orders-none');
  // and the order found opens its timeline
  await page.goto(`${FEEGATE}/staff/orders?q=${wanted.code}`);
  await page.locator(`tr[data-order="${wanted.id}"] a`).click();
  await waitForPage(page, 'staff-order');
  await audit(page);
  assert.equal(new URL(page.url()).pathname, `/staff/orders/${wanted.id}`);
}, DESK);

/** Logs in through the form as a browser without a session would: the answer's status. */
async function loginStatus(email, password) {
  const form = await fetch(`${FEEGATE}/staff/login`);
  const cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const token = (await form.text()).match(/name="csrf_token" value="([^"]+)"/)[1];
  const res = await fetch(`${FEEGATE}/staff/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ email, password, csrf_token: token }).toString(),
  });
  await res.arrayBuffer();
  return res.status;
}

test('a login locked after wrong passwords is on the users page; the admin unlocks it; the audit log shows it all', async ({ page, newPage }) => {
  // run.sh locks a login at its third wrong password (staff.login_lockout_failures)
  const email = staff.lockable;
  const login = await newPage();
  await login.goto(`${FEEGATE}/staff/login`);
  await waitForPage(login, 'staff-login');
  await audit(login);
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    const form = login.locator('form:has(input[name="password"])');
    await form.locator('input[name="email"]').fill(email);
    await form.locator('input[name="password"]').fill(`not-the-password-${i}`);
    const [res] = await Promise.all([
      login.waitForResponse((r) => r.url() === `${FEEGATE}/staff/login` && r.request().method() === 'POST'),
      form.locator('button[type="submit"]').click(),
    ]);
    statuses.push(res.status());
    await waitForPage(login, 'staff-login');
  }
  assert.deepEqual(statuses, [401, 401, 401, 423], 'three wrong passwords, then locked');
  await audit(login, 'staff-login-locked');
  await login.locator('[data-error]').first().waitFor();

  await staffLogin(page, staff.admin, staff.password);
  await page.goto(`${FEEGATE}/staff/users`);
  await waitForPage(page, 'staff-users');
  await audit(page);
  const row = page.locator(`tr[data-locked="${email}"]`);
  await row.waitFor();
  await Promise.all([page.waitForURL(/\/staff\/users/), row.locator('button[type="submit"]').click()]);
  await waitForPage(page, 'staff-users');
  assert.equal(await page.locator(`tr[data-locked="${email}"]`).count(), 0, 'still locked after the unlock');
  await audit(page, 'staff-users-unlocked');

  // the right password works again (from outside this browser: its cookie is the admin's now)
  assert.equal(await loginStatus(email, staff.password), 303, 'the unlocked login');

  await page.goto(`${FEEGATE}/staff/audit?action=staff_session.login_failed`);
  await waitForPage(page, 'staff-audit');
  await audit(page);
  const actions = await page.locator('table[data-table="audit"] tr[data-action]').evaluateAll((rows) =>
    rows.map((r) => `${r.getAttribute('data-action')} ${r.textContent}`));
  assert.ok(actions.length >= 4, `the failed logins in the audit log: ${actions.length}`);
  assert.ok(actions.every((a) => a.startsWith('staff_session.login_failed ')), 'the filter let another action through');
  assert.ok(actions.filter((a) => a.includes(email)).length >= 4, 'the locked login\'s failures');
  await page.goto(`${FEEGATE}/staff/audit`);
  await waitForPage(page, 'staff-audit');
  const all = await page.locator('table[data-table="audit"] tr[data-action]').evaluateAll((rows) =>
    rows.map((r) => r.getAttribute('data-action')));
  assert.ok(all.includes('staff_user.unlock') || all.some((a) => a.includes('unlock')), `no unlock in ${all.slice(0, 10)}`);
}, DESK);

/** An XLSX workbook of the rows (first row the header), made by openpyxl (Debian's python3-openpyxl). */
function workbook(name, rows) {
  const dir = join(ARTIFACTS, 'uploads');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  execFileSync('/usr/bin/python3', ['-c', `
import json, sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = 'Hoa don'
for row in json.loads(sys.argv[2]):
    ws.append(row)
wb.save(sys.argv[1])
`, path, JSON.stringify(rows)]);
  return path;
}

test("finance uploads a month's water bills as XLSX: preview, a wrong row refused, commit, the result file", async ({ page }) => {
  const stamp = Date.now();
  const header = ['Mã hóa đơn', 'Họ tên', 'Số tiền', 'Nội dung', 'Hạn nộp'];
  const due = new Date(Date.now() + 20 * DAY_MS).toISOString().slice(0, 10).split('-').reverse().join('/');
  const bills = [
    [`NUOC-${stamp}-001`, 'Phạm Thị Lan', 185000, 'Tiền nước tháng 11', due],
    [`NUOC-${stamp}-002`, 'Đỗ Văn Minh <b>', 243500, 'Tiền nước tháng 11', due],
    [`NUOC-${stamp}-003`, 'Vũ Hoàng Yến', 96000, 'Tiền nước tháng 11', due],
  ];
  const wrong = workbook(`bills-${stamp}-wrong.xlsx`, [header, ...bills.slice(0, 2), [`NUOC-${stamp}-003`, 'Vũ Hoàng Yến', -5, 'x', due]]);
  const right = workbook(`bills-${stamp}.xlsx`, [header, ...bills]);

  await staffLogin(page, staff.finance, staff.password);
  await page.goto(`${FEEGATE}/staff/bills`);
  await waitForPage(page, 'staff-bills');
  await audit(page);
  const upload = async (path) => {
    const form = page.locator('form[data-form="bills-upload"]');
    await form.locator('select[name="merchant"]').selectOption(merchants.water.id);
    await form.locator('select[name="fee_type"]').selectOption('utility');
    await form.locator('input[name="file"]').setInputFiles(path);
    await form.locator('button[type="submit"]').click();
    await waitForPage(page, 'staff-bills-preview');
  };
  await upload(wrong);
  const counts = page.locator('[data-rows]');
  assert.equal(await counts.getAttribute('data-rows'), '3');
  assert.equal(await counts.getAttribute('data-invalid'), '1');
  assert.equal(await page.locator('form[data-form="bills-commit"]').count(), 0, 'a commit form beside a wrong row');
  assert.equal(await page.locator('tr[data-row][data-state="invalid"]').count(), 1);
  await page.locator('[role="alert"]').first().waitFor();
  await audit(page, 'staff-bills-preview-invalid');

  await page.goto(`${FEEGATE}/staff/bills`);
  await waitForPage(page, 'staff-bills');
  await upload(right);
  assert.equal(await counts.getAttribute('data-rows'), '3');
  assert.equal(await counts.getAttribute('data-invalid'), '0');
  assert.equal(await page.locator('tr[data-row][data-state="ok"]').count(), 3);
  await page.getByText('Đỗ Văn Minh <b>').first().waitFor();
  await audit(page);
  await page.locator('form[data-form="bills-commit"] button[type="submit"]').click();
  await waitForPage(page, 'staff-bills-result');
  await audit(page);
  assert.equal(await page.locator('[data-created]').getAttribute('data-created'), '3');
  const file = await downloadFile(page, page.locator('a[data-download="csv"]'));
  const { header: cols, rows } = readCsv(file.path);
  assert.deepEqual(cols, ['row', 'status', 'merchant_ref', 'payer_name', 'amount', 'code', 'pay_url', 'error']);
  assert.deepEqual(rows.map((r) => [r.merchant_ref, r.payer_name, r.amount]),
    bills.map((b) => [b[0], b[1], String(b[2])]));
  for (const r of rows) {
    assert.match(r.code, /^[0-9A-Z]{11}$/, `row ${r.row}'s code`);
    assert.equal(r.pay_url, `${FEEGATE}/pay/${r.code}`);
    assert.equal(await routeStatus('GET', `/pay/${r.code}`), 200, `the pay link of row ${r.row}`);
  }
}, DESK);

test("finance reads a merchant's statement and the reconciliation summary on /staff/reports and downloads them", async ({ page }) => {
  const order = await createOrder('school', { amount: 640000 });
  await sepayTransfer({ amount: 640000, code: order.code });
  await staffLogin(page, staff.finance, staff.password);
  await page.goto(`${FEEGATE}/staff/reports?report=merchant-statement`);
  await waitForPage(page, 'staff-reports');
  await page.locator('[data-choose]').waitFor();
  const form = page.locator('form[data-form="report"]');
  await form.locator('select[name="merchant"]').selectOption(merchants.school.id);
  await Promise.all([page.waitForURL(/merchant=/), form.locator('button[type="submit"]').click()]);
  await waitForPage(page, 'staff-reports');
  await page.locator(`h2[data-merchant="${merchants.school.id}"]`).waitFor();
  await audit(page, 'staff-reports-statement');
  const figure = async (key) => BigInt(await page.locator(`[data-figure="${key}"]`).getAttribute('data-value'));
  const [opening, collections, refunds, fees, payouts, adjustments, closing] = await Promise.all(
    ['opening_balance', 'collections', 'refunds', 'fees', 'payouts', 'adjustments', 'closing_balance'].map(figure));
  assert.ok(collections >= 640000n, `the school collected ${collections} this month, less than the fee just paid`);
  assert.equal(opening + collections - refunds - fees - payouts + adjustments, closing, 'the statement does not add up');
  const file = await downloadFile(page, page.locator('a[data-download="csv"]'));
  const { header, rows } = readCsv(file.path);
  assert.ok(header.includes('collections'), `the statement's header: ${header}`);
  assert.equal(rows.reduce((sum, r) => sum + BigInt(r.collections), 0n), collections, "the file's collections");

  await form.locator('select[name="report"]').selectOption('reconciliation');
  await Promise.all([page.waitForURL(/report=reconciliation/), form.locator('button[type="submit"]').click()]);
  await waitForPage(page, 'staff-reports');
  assert.equal(await page.locator('table[data-table="report"] th[data-key="bank_closing"]').count(), 1);
  await audit(page, 'staff-reports-reconciliation');
  const recon = await downloadFile(page, page.locator('a[data-download="csv"]'));
  assert.ok(readCsv(recon.path).header.includes('difference'), 'the reconciliation file');
}, DESK);
