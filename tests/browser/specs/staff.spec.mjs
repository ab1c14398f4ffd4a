// The staff pages of docs/PAGES.md at a desk's width: logging in (email, password,
// csrf_token), the session cookie, a report downloaded as CSV, an accountant scoped to one
// merchant.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder, fixture } from '../lib/feegate.mjs';
import { downloadFile, readCsv, sepayTransfer, staffLogin, waitForPage } from '../lib/flows.mjs';

const DESK = { viewport: { width: 1280, height: 800 } };
const { staff } = fixture;

test('finance logs in and reaches the overview; the session cookie is HttpOnly, SameSite=Strict', async ({ page, context }) => {
  await staffLogin(page, staff.finance, staff.password);
  // the session cookie is sent to /staff only (Path=/staff)
  const cookie = (await context.cookies(`${FEEGATE}/staff`)).find((c) => c.name === 'fg_staff');
  assert.ok(cookie, 'no fg_staff cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
}, DESK);

test('a wrong password stays on the login page; a POST without csrf_token answers 403', async ({ page }) => {
  await page.goto(`${FEEGATE}/staff/login`);
  await waitForPage(page, 'staff-login');
  await audit(page);
  const form = page.locator('form:has(input[name="password"])');
  await form.locator('input[name="email"]').fill(staff.finance);
  await form.locator('input[name="password"]').fill(`${staff.password}-wrong`);
  // The answer is staff-login again: wait for its document, not the one already shown.
  await Promise.all([
    page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame()),
    form.locator('button[type="submit"], input[type="submit"]').first().click(),
  ]);
  await page.waitForLoadState('load');
  await waitForPage(page, 'staff-login');
  await audit(page, 'staff-login-refused');
  const res = await page.request.post(`${FEEGATE}/staff/login`, {
    form: { email: staff.finance, password: staff.password },
    maxRedirects: 0,
  });
  assert.equal(res.status(), 403, 'a login POST without csrf_token');
}, DESK);

test("finance downloads today's collections as CSV from /staff/reports", async ({ page }) => {
  const order = await createOrder('water', { amount: 96000, fee_type: 'utility', category: 'water' });
  await sepayTransfer({ amount: 96000, code: order.code });
  await staffLogin(page, staff.finance, staff.password);
  await page.goto(`${FEEGATE}/staff/reports`);
  await waitForPage(page, 'staff-reports');
  await audit(page);
  const link = page.locator('a[data-download="csv"][href*="collections"]').first();
  const file = await downloadFile(page, link);
  const { header, rows } = readCsv(file.path);
  assert.ok(header.includes('collected'), `the CSV's header: ${header.join(',')}`);
  const collected = rows.reduce((sum, r) => sum + BigInt(r.collected), 0n);
  assert.ok(collected >= 96000n, `collected ${collected} in ${file.filename}, less than the 96000 just paid`);
}, DESK);

test("a school's accountant is answered 404 for another merchant's order", async ({ page }) => {
  const order = await createOrder('water', { amount: 120000, fee_type: 'utility', category: 'water' });
  await staffLogin(page, staff.accountant, staff.password);
  const res = await page.goto(`${FEEGATE}/staff/orders/${order.id}`);
  await audit(page, 'staff-not-found');
  assert.equal(res.status(), 404, "the water company's order, seen by the school's accountant");
  assert.equal(await page.locator('button[data-back]').isVisible(), true, 'the way back to the page before');
  await page.locator('a[data-home]').click();
  await waitForPage(page, 'staff-overview');
}, DESK);
