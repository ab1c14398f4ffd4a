// The payer's bill page as it is served today (GET /pay/{code}), on a 360x800 phone: what a
// parent sees, outside text shown as text, and a bill paid through each bank path.
// These run before the pages of docs/PAGES.md land, so they find the page by its URL and its
// words; the specs in pay-flows.spec.mjs hold the page to its data-page hooks.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder, startPayment } from '../lib/feegate.mjs';
import { decideAtVnpay, sepayTransfer } from '../lib/flows.mjs';

// The bill's status as both today's page and docs/PAGES.md's words say it.
const OPEN = /Chưa thanh toán/;
const PAID = /Đã thanh toán(?! một phần)/;

async function openBill(page, code) {
  const res = await page.goto(`${FEEGATE}/pay/${code}`);
  assert.equal(res.status(), 200, `GET /pay/${code}`);
}

test('a parent on a phone opens the bill and sees the amount and that it is unpaid', async ({ page }) => {
  const order = await createOrder('school', { amount: 4500000 });
  await openBill(page, order.code);
  await audit(page, 'pay-bill');
  await page.getByText(/4\.500\.000/).first().waitFor();
  await page.getByText(OPEN).first().waitFor();
  await page.getByText('Nguyễn Minh Anh').first().waitFor();
  await page.getByText(order.code).first().waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `the bill is ${width} px wide on a 360 px phone: it scrolls sideways`);
});

test('a payer name and description holding markup are shown as text, never run', async ({ page }) => {
  const name = '<script>alert(1)</script>';
  const description = '<img src=x onerror=alert(2)> "quoted" & \'single\'';
  const order = await createOrder('school', { payer: { name, ref: 'HS-XSS' }, description });
  const dialogs = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await openBill(page, order.code);
  await audit(page, 'pay-bill-markup');
  await page.getByText(name, { exact: true }).waitFor();
  await page.getByText(description, { exact: true }).waitFor();
  assert.deepEqual(dialogs, [], 'a dialog opened: the payer name ran as script');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'the description became an <img>');
  const scripts = await page.locator('script').evaluateAll((els) => els.map((e) => e.textContent));
  assert.ok(!scripts.some((s) => s.includes('alert')), 'the payer name became a <script>');
});

test('a bill paid by a VietQR transfer (SePay feed) shows paid', async ({ page }) => {
  const order = await createOrder('water', { amount: 185000, fee_type: 'utility', category: 'water' });
  await openBill(page, order.code);
  await page.getByText(OPEN).first().waitFor();
  await sepayTransfer({ amount: 185000, code: order.code });
  await openBill(page, order.code);
  await audit(page, 'pay-bill-paid');
  await page.getByText(PAID).first().waitFor();
});

test('a VNPay payment approved at the bank comes back to feegate and the bill shows paid', async ({ page }) => {
  const order = await createOrder('school', { amount: 2500000 });
  const payment = await startPayment('school', order.id, 'vnpay');
  await page.goto(payment.redirect_url);
  const { amount } = await decideAtVnpay(page, 'approve');
  assert.equal(amount, 2500000, "the bank's page shows another amount");
  assert.ok(page.url().startsWith(`${FEEGATE}/pay/`), `back at ${page.url()}`);
  await audit(page, 'pay-return');
  await openBill(page, order.code);
  await audit(page, 'pay-bill-paid');
  await page.getByText(PAID).first().waitFor();
});
