// The staff order page at a desk and on a phone: an order paid by a transfer, its receipt
// e-mailed to the payer, and the page's sections, the reminders and receipts table's nine
// columns among them (long e-mail addresses and provider references in it), each fully on
// screen at 1280 px.
import assert from 'node:assert/strict';
import { audit, test } from '../lib/suite.mjs';
import { FEEGATE, createOrder, fixture } from '../lib/feegate.mjs';
import { sepayTransfer, staffLogin, waitForPage } from '../lib/flows.mjs';

const DESK = { viewport: { width: 1280, height: 800 } };
const { staff } = fixture;
const WAIT_MS = 15000;

/** The rows of a section of the order page that hold data (not the "None." row). */
const dataRows = (page, section) => page.locator(`section[data-section="${section}"] tbody tr:not(:has(td[colspan]))`);

test('the order page shows every column of its reminders table at a desk', async ({ page }) => {
  const stamp = Date.now();
  const email = `phu.huynh.hoc.sinh.lop.12a1.${stamp}@truong-thpt-chu-van-an.hochiminhcity.edu.vn`;
  const order = await createOrder('school', {
    merchant_ref: `HP-ORDER-PAGE-${stamp}`,
    amount: 1250000,
    payer: { name: 'Huỳnh Thị Phương Thảo', ref: `HS-${stamp}`, email },
  });
  await sepayTransfer({ amount: 1250000, code: order.code });
  await staffLogin(page, staff.finance, staff.password);
  // the receipt e-mail is queued and sent by the server's jobs: reload until its row is there
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await page.goto(`${FEEGATE}/staff/orders/${order.id}`);
    await waitForPage(page, 'staff-order');
    if ((await dataRows(page, 'reminders').count()) > 0) break;
    assert.ok(Date.now() < deadline, 'no receipt e-mail row on the order page');
    await page.waitForTimeout(250);
  }
  const row = dataRows(page, 'reminders').first();
  assert.match(await row.textContent(), new RegExp(email.replace(/[.]/g, '\\.')));
  const cells = row.locator('td');
  assert.equal(await cells.count(), 9);
  // at 1280 px (the spec's viewport) the last column's cell is on the screen and inside its
  // table's box, which has nothing to scroll sideways
  const width = page.viewportSize().width;
  const wrap = page.locator('section[data-section="reminders"] .table-wrap');
  const box = await cells.last().boundingBox();
  const wrapBox = await wrap.boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= width,
    `at ${width} px the last column's cell runs from ${box.x} to ${box.x + box.width}, off the screen`);
  assert.ok(box.x + box.width <= wrapBox.x + wrapBox.width + 0.5,
    `at ${width} px the last column's cell ends at ${box.x + box.width}, past its table's box (${wrapBox.x + wrapBox.width})`);
  const scrolls = await wrap.evaluate((el) => el.scrollWidth - el.clientWidth);
  assert.ok(scrolls <= 1, `at ${width} px the reminders table scrolls sideways by ${scrolls} px`);
  await audit(page, 'staff-order-reminders');
  // on a phone the table keeps its width and its box scrolls sideways, the page itself does not
  await page.setViewportSize({ width: 360, height: 800 });
  const pageScroll = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(pageScroll <= 1, `at 360 px the page scrolls sideways by ${pageScroll} px`);
  await audit(page, 'staff-order-reminders-phone');
}, DESK);
