// The staff pages of merchants, API keys and webhooks (docs/PAGES.md) in the browser: an
// admin creates a merchant through the form; its key is on the answer page once, with a
// copy button, works against the API, and is not on the list when the page is opened again;
// finance sees a merchant's webhook endpoints.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, fixture } from '../lib/feegate.mjs';
import { staffLogin, waitForPage } from '../lib/flows.mjs';

const DESK = { viewport: { width: 1280, height: 800 } };
const { staff, merchants } = fixture;

test('an admin creates a merchant; its key is shown once and works against the API', async ({ page }) => {
  await staffLogin(page, staff.admin, staff.password);
  await page.goto(`${FEEGATE}/staff/merchants`);
  await waitForPage(page, 'staff-merchants');
  await audit(page);
  const name = `Trường Mầm non Hoa Sen ${Date.now()}`;
  const form = page.locator('form[data-form="merchant-create"]');
  await form.locator('input[name="name"]').fill(name);
  await form.locator('button[type="submit"]').click();
  await waitForPage(page, 'staff-key');
  await audit(page);
  assert.ok(await page.locator('[data-once]').isVisible(), 'the warning that the key is shown once');
  const secret = (await page.locator('[data-secret]').textContent()).trim();
  assert.match(secret, /^fg_live_[A-Za-z0-9_-]{43}$/);
  assert.equal(await page.locator('dd.copy').getAttribute('data-copy'), secret);
  assert.ok(!page.url().includes(secret), 'the key in the URL');
  const res = await fetch(`${FEEGATE}/v1/orders`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 200, 'GET /v1/orders with the new key');
  await page.goto(`${FEEGATE}/staff/merchants`);
  await waitForPage(page, 'staff-merchants');
  assert.ok(!(await page.content()).includes(secret.slice(12)), 'the key on the list');
  assert.ok(await page.getByText(name).first().isVisible());
}, DESK);

test("finance opens a merchant's webhooks", async ({ page }) => {
  const created = await fetch(`${FEEGATE}/v1/webhook-endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${merchants.school.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'https://example.com/hooks/feegate', events: ['order.paid'] }),
  });
  // a private address is refused unless allowed; the page is audited either way
  const endpoint = created.status === 201 ? (await created.json()).id : null;
  await staffLogin(page, staff.finance, staff.password);
  await page.goto(`${FEEGATE}/staff/webhooks?merchant=${merchants.school.id}`);
  await waitForPage(page, 'staff-webhooks');
  await audit(page);
  if (endpoint !== null)
    assert.ok(await page.locator(`section[data-endpoint="${endpoint}"]`).isVisible(), 'the endpoint');
}, DESK);
