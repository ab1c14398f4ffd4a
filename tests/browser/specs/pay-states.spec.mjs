// The payer's pages in the states a payer meets less often: a receipt still processing (a
// payment the bank has not answered yet) that turns paid by itself, a code no bill has, the
// start refused beyond the per-order limit (429), and the sandbox gateway's own page.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder, routeStatus, startPayment } from '../lib/feegate.mjs';
import { decideAtVnpay, waitForPage } from '../lib/flows.mjs';

// The per-order limit of POST /pay/{code}/start (config payer.start_limit_per_order, the
// default run.sh keeps).
const STARTS_PER_ORDER = 10;

/**
 * Audits a page that moves on by itself (a meta refresh) held still: page's route answers the
 * document feegate sent, without its refresh, at the same address; then lets it move again.
 * Returns the HTML feegate sent.
 */
async function auditHeldStill(page, url, name) {
  let sent = null;
  const here = (u) => u.href === url;
  await page.route(here, async (route) => {
    const response = await route.fetch();
    sent = await response.text();
    await route.fulfill({ response, body: sent.replace(/<meta http-equiv="refresh"[^>]*>/, '') });
  });
  await page.goto(url);
  await waitForPage(page, name.replace(/-(processing|go)$/, ''));
  await audit(page, name);
  await page.unroute(here);
  return sent;
}

test('a payment the bank has not answered: the receipt says processing, refreshes itself and turns paid', async ({ page, newPage }) => {
  const order = await createOrder('school', { amount: 1750000 });
  const payment = await startPayment('school', order.id, 'vnpay');
  const url = `${FEEGATE}/pay/${order.code}/receipt?payment=${payment.id}`;
  const sent = await auditHeldStill(page, url, 'pay-receipt-processing');
  assert.match(sent, /<main id="main" data-page="pay-receipt" data-status="processing"/);
  assert.match(sent, /<meta http-equiv="refresh" content="3">/, 'the processing receipt refreshes itself');
  assert.equal(await page.locator('[data-payment]').textContent(), payment.id);
  assert.equal(await page.locator('[data-print]').count(), 0, 'a processing receipt offers no print button');
  await page.getByText(/1\.750\.000/).first().waitFor();
  // The real page now, refreshing itself; the payer approves at the bank in another tab.
  await page.goto(url);
  await waitForPage(page, 'pay-receipt', { status: 'processing' });
  const bank = await newPage();
  await bank.goto(payment.redirect_url);
  await decideAtVnpay(bank, 'approve');
  await waitForPage(bank, 'pay-receipt', { status: 'paid' });
  await audit(bank);
  await waitForPage(page, 'pay-receipt', { status: 'paid' });
  assert.equal(await page.locator('[data-payment]').textContent(), payment.id);
});

test('a code no bill has is pay-not-found (404), and the code form finds nothing either', async ({ page }) => {
  const res = await page.goto(`${FEEGATE}/pay/NOSUCHCODE`);
  assert.equal(res.status(), 404);
  await waitForPage(page, 'pay-not-found');
  await audit(page);
  assert.equal(await page.locator('h1').count(), 1, 'one <h1>');
  assert.equal(await page.locator('form[action$="/start"]').count(), 0, 'no pay button');
  await page.locator('a[href="/pay"]').first().waitFor();
});

test('beyond the per-order limit the start answers 429 pay-limited with Retry-After', async ({ page }) => {
  const order = await createOrder('water', { amount: 210000, fee_type: 'utility', category: 'water' });
  for (let i = 0; i < STARTS_PER_ORDER; i++) {
    const status = await routeStatus('POST', `/pay/${order.code}/start`, { method: 'vnpay' });
    assert.ok(status === 200 || status === 303, `start ${i + 1} answered ${status}`);
  }
  await page.goto(`${FEEGATE}/pay/${order.code}`);
  await waitForPage(page, 'pay-bill', { status: 'open' });
  await audit(page);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${order.code}/start`)),
    page.locator('form[data-method="vnpay"] button').click(),
  ]);
  assert.equal(res.status(), 429);
  const retryAfter = Number((await res.allHeaders())['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After: ${retryAfter}`);
  await waitForPage(page, 'pay-limited');
  await audit(page);
  assert.equal(Number(await page.locator('[data-retry-after]').getAttribute('data-retry-after')), retryAfter);
  await page.locator(`a[href="/pay/${order.code}"]`).first().waitFor();
});

test('the sandbox gateway: its page shows the payment; approved, it says so and its link opens a paid receipt', async ({ page, newPage }) => {
  const order = await createOrder('school', { amount: 320000 });
  let goPage = null;
  await page.route('**/pay/*/start', async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    const body = await response.text();
    if (body.includes('data-page="pay-go"')) goPage = body;
    await route.fulfill({ response, body });
  });
  await page.goto(`${FEEGATE}/pay/${order.code}`);
  await waitForPage(page, 'pay-bill', { status: 'open' });
  await audit(page);
  await page.locator('form[data-method="sandbox"] button').click();
  await page.waitForURL((url) => url.pathname.startsWith('/sandbox/pay/'));
  await waitForPage(page, 'sandbox-pay', { status: 'pending' });
  await audit(page);
  await page.getByText(/320\.000/).first().waitFor();
  assert.ok(goPage, 'the start answered no pay-go page');
  await page.locator('button[name="decision"][value="approve"]').click();
  await waitForPage(page, 'sandbox-pay', { status: 'succeeded' });
  await audit(page, 'sandbox-pay-succeeded');
  assert.equal(await page.locator('button[name="decision"]').count(), 0, 'a decided payment offers its buttons again');
  await page.locator('a[href*="/receipt?payment="]').click();
  await waitForPage(page, 'pay-receipt', { status: 'paid' });
  await audit(page);
  assert.equal(await page.locator('[data-method]').getAttribute('data-method'), 'sandbox');
  // the pay-go page the start answered, held still at its own address, for axe
  const still = await newPage();
  await still.route(`${FEEGATE}/pay/${order.code}/start`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8',
      body: goPage.replace(/<meta http-equiv="refresh"[^>]*>/, '') }));
  await still.goto(`${FEEGATE}/pay/${order.code}/start`);
  await waitForPage(still, 'pay-go');
  await audit(still, 'pay-go-sandbox');
});
