// feegate.mjs - the running feegate and bank simulator run.sh started (its fixture file),
// orders and payments through the JSON API, and the status of one request.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const path = process.env.FEEGATE_BROWSER_FIXTURE;
if (!path) throw new Error('FEEGATE_BROWSER_FIXTURE is not set: run the suite with tests/browser/run.sh');

/** feegate's and banksim's URLs, the merchants with their API keys, the staff logins. */
export const fixture = JSON.parse(readFileSync(path, 'utf8'));
export const FEEGATE = fixture.feegate;
export const BANKSIM = fixture.banksim;

const DAY_MS = 24 * 3600 * 1000;
let orderCount = 0;

async function api(merchant, method, route, body) {
  const res = await fetch(FEEGATE + route, {
    method,
    headers: {
      authorization: `Bearer ${fixture.merchants[merchant].api_key}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/**
 * Creates an order of the merchant ('school' or 'water') through POST /v1/orders and returns
 * the API's order (id, code, pay_url, …). fields override the defaults: a 4,500,000 VND
 * tuition bill due in 10 days.
 */
export function createOrder(merchant, fields = {}) {
  const now = Date.now();
  orderCount += 1;
  return api(merchant, 'POST', '/v1/orders', {
    merchant_ref: `BROWSER-${now}-${orderCount}`,
    fee_type: 'tuition',
    category: 'tuition',
    amount: 4500000,
    currency: 'VND',
    description: 'Học phí học kỳ I – lớp 10A1',
    payer: { name: 'Nguyễn Minh Anh', ref: `HS-${orderCount}` },
    due_at: new Date(now + 10 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z'),
    expires_at: new Date(now + 30 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z'),
    ...fields,
  });
}

/** Starts a payment of the order (POST /v1/orders/{id}/payments); returns the payment. */
export function startPayment(merchant, orderId, method) {
  return api(merchant, 'POST', `/v1/orders/${orderId}/payments`, { method });
}

/** The status feegate answers to one request (redirects not followed). */
export async function routeStatus(method, route, form) {
  const res = await fetch(FEEGATE + route, {
    method,
    redirect: 'manual',
    headers: form ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  await res.arrayBuffer();
  return res.status;
}
