// The payer's pages as docs/PAGES.md describes them: hooks and headers, the language switch,
// finding a bill by its code, and paying by VietQR and by VNPay through banksim.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder } from '../lib/feegate.mjs';
import { payWithVnpay, sepayTransfer, waitForPage } from '../lib/flows.mjs';

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; " +
  "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

test('the bill page has its hooks, one h1, labelled inputs, a pay form per method and the headers', async ({ page }) => {
  const order = await createOrder('school', { amount: 4500000 });
  const res = await page.goto(`${FEEGATE}/pay/${order.code}`);
  await waitForPage(page, 'pay-bill', { status: 'open' });
  await audit(page);
  const headers = res.headers();
  assert.equal(headers['content-security-policy'], CSP);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.equal(await page.locator('html').getAttribute('lang'), 'vi');
  assert.equal(await page.locator('h1').count(), 1, 'one <h1>');
  await page.getByText(/4\.500\.000\s₫/).first().waitFor();
  for (const method of ['vnpay', 'momo']) {
    const form = page.locator(`form[method="post"]:has(input[name="method"][value="${method}"])`);
    assert.equal(await form.count(), 1, `one pay form for ${method}`);
    assert.equal(await form.getAttribute('action'), `/pay/${order.code}/start`);
  }
  const unlabelled = await page.locator('input:not([type="hidden"]), select, textarea').evaluateAll((els) =>
    els.filter((e) => e.labels === null || e.labels.length === 0).map((e) => e.outerHTML));
  assert.deepEqual(unlabelled, [], 'inputs without a <label>');
});

test('?lang=en switches the bill to English and a lang cookie remembers it', async ({ page, context }) => {
  const order = await createOrder('school');
  await page.goto(`${FEEGATE}/pay/${order.code}?lang=en`);
  await waitForPage(page, 'pay-bill');
  await audit(page, 'pay-bill-en');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  const cookie = (await context.cookies(FEEGATE)).find((c) => c.name === 'lang');
  assert.equal(cookie?.value, 'en', 'the lang cookie');
  assert.equal(cookie.sameSite, 'Lax');
  await page.goto(`${FEEGATE}/pay/${order.code}`);
  await waitForPage(page, 'pay-bill');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en', 'the choice is remembered');
});

test('a code typed in lower case with spaces and dashes finds the bill', async ({ page }) => {
  const order = await createOrder('water', { amount: 243500, fee_type: 'utility', category: 'water' });
  await page.goto(`${FEEGATE}/pay`);
  await waitForPage(page, 'pay-find');
  await audit(page);
  const typed = `${order.code.slice(0, 4)}-${order.code.slice(4, 8)} ${order.code.slice(8)}`.toLowerCase();
  await page.locator('input[name="code"]').fill(typed);
  await page.locator('form:has(input[name="code"]) [type="submit"]').first().click();
  await waitForPage(page, 'pay-bill', { status: 'open' });
  await audit(page);
  assert.equal(new URL(page.url()).pathname, `/pay/${order.code}`);
});

test('VietQR: the bill shows what to transfer with copy buttons, and turns paid by itself after the transfer', async ({ page }) => {
  const order = await createOrder('water', { amount: 185000, fee_type: 'utility', category: 'water' });
  await page.goto(`${FEEGATE}/pay/${order.code}`);
  await waitForPage(page, 'pay-bill', { status: 'open' });
  await audit(page);
  const copyable = await page.locator('[data-copy]').evaluateAll((els) =>
    els.map((e) => `${e.getAttribute('data-copy')} ${e.textContent}`).join('\n'));
  const { account_no: accountNo } = (await import('../lib/feegate.mjs')).fixture.vietqr;
  for (const [what, text] of [['account number', accountNo], ['memo (the code)', order.code], ['amount', '185']]) {
    assert.ok(copyable.includes(text), `no copy button holds the ${what} ${text}`);
  }
  const qrWidth = await page.locator(`img[src*="/pay/${order.code}/qr.svg"]`).evaluate((img) => img.naturalWidth);
  assert.ok(qrWidth > 0, 'the VietQR image did not load');
  assert.equal(await page.locator('main').getAttribute('data-watch'), '5', 'an open bill watches itself');
  const reloads = [];
  page.on('framenavigated', (frame) => frame === page.mainFrame() && reloads.push(frame.url()));
  await sepayTransfer({ amount: 185000, code: order.code });
  // nobody reloads: the page's script sees the transfer within a few seconds
  await waitForPage(page, 'pay-bill', { status: 'paid' });
  assert.deepEqual(reloads, [`${FEEGATE}/pay/${order.code}`], 'the page reloaded itself once, at its own address');
  assert.equal(await page.locator('main').getAttribute('data-watch'), null, 'a paid bill stops watching');
  await page.locator('[data-closed]').waitFor();
  await audit(page, 'pay-bill-paid');
});

test('VNPay from the bill: approved at the bank, the receipt says paid with amount and method', async ({ page, newPage }) => {
  const order = await createOrder('school', { amount: 2500000 });
  // The start answers the pay-go page, which moves on to the bank at once (a form may not be
  // redirected to another site under form-action 'self'): keep what it was to audit it below.
  let goPage = null;
  await page.route('**/pay/*/start', async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    const body = await response.text();
    if (body.includes('data-page="pay-go"')) goPage = body;
    await route.fulfill({ response, body });
  });
  await page.goto(`${FEEGATE}/pay/${order.code}`);
  const { amount } = await payWithVnpay(page);
  assert.ok(goPage, 'the start answered no pay-go page');
  assert.match(goPage, /<meta http-equiv="refresh" content="0;url=http/);
  // the same page, held still (its refresh removed) at its own address, for axe
  const still = await newPage();
  await still.route(`${FEEGATE}/pay/${order.code}/start`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8',
      body: goPage.replace(/<meta http-equiv="refresh"[^>]*>/, '') }));
  await still.goto(`${FEEGATE}/pay/${order.code}/start`);
  await waitForPage(still, 'pay-go');
  await audit(still, 'pay-go');
  assert.equal(amount, 2500000, "the bank's page shows another amount");
  await page.getByText(/2\.500\.000/).first().waitFor();
  await page.getByText(/VNPay/i).first().waitFor();
  await page.goto(`${FEEGATE}/pay/${order.code}`);
  await waitForPage(page, 'pay-bill', { status: 'paid' });
  await audit(page, 'pay-bill-paid');
});
