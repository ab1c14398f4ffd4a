/*
 * web.h - pages for people: the payer's pages (docs/PAGES.md).
 */
#ifndef FG_WEB_WEB_H
#define FG_WEB_WEB_H

#include "core/buf.h"
#include "http/http.h"

/** GET /pay: the code form; ?code=… (spaces, dashes, case tolerated) is
 *  sent on (303) to /pay/{CODE}, a bad one gets the form again with why. */
void fg_web_pay_find(fg_call_t *call, fg_db_t *db);

/** GET /pay/{code}: the bill a payer opens from the link or QR on paper. */
void fg_web_pay_page(fg_call_t *call, fg_db_t *db);

/** POST /pay/{code}/start: starts (or reuses the pending) payment of the
 *  form's method and sends the payer on (303) to the provider; 429 with
 *  Retry-After beyond the per-address and per-order limits. */
void fg_web_pay_start(fg_call_t *call, fg_db_t *db);

/** GET /pay/{code}/receipt: the receipt of the bill's payment (?payment=
 *  names one), "processing" and refreshing itself until it settles. */
void fg_web_receipt_page(fg_call_t *call, fg_db_t *db);

/** GET /pay/receipt/{id} (DESIGN §4): a receipt (rct_…) or a payment
 *  (pay_…) by its id; 303 to its bill's receipt page, 404 when there is no
 *  such one. */
void fg_web_receipt_by_id(fg_call_t *call, fg_db_t *db);

/** GET /sandbox/pay/{payment_id}: the sandbox gateway's own payer page, where
 *  a demo payer approves or declines; POST applies the choice as a signed
 *  sandbox notification through the inbound webhook pipeline. */
void fg_web_sandbox_page(fg_call_t *call, fg_db_t *db);
void fg_web_sandbox_decide(fg_call_t *call, fg_db_t *db);

/** GET /pay/{code}/qr.svg: the bill's VietQR code (what it still owes, the
 *  code as memo), drawn with libqrencode. */
void fg_web_qr_svg(fg_call_t *call, fg_db_t *db);

/** Appends text's QR code (level M) as SVG to out, with the XML declaration
 *  when standalone (a file), without when it goes inside a page.  0, or -1
 *  when the text does not fit a QR code. */
int fg_web_qr_draw(fg_buf_t *out, const char *text, int standalone);

/** GET /pay/return/{adapter}: the payer's browser back from VNPay or MoMo.
 *  Verifies the signature and sends the payer on (303) to the receipt;
 *  changes nothing. */
void fg_web_return_page(fg_call_t *call, fg_db_t *db);

/** GET|POST /reminders/opt-out/{order}/{token}: the link at the end of every
 *  reminder; GET shows it, POST stops the payer's reminders (optout.c). */
void fg_web_opt_out(fg_call_t *call, fg_db_t *db);

/** GET /verify: an e-receipt's QR payload (?p=, pasted) checked with the
 *  published keys, what the register says of it now, and (?ref=) whether it
 *  was issued to a payer reference (verify.c). */
void fg_web_verify_page(fg_call_t *call, fg_db_t *db);

/** Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
void fg_html_escape(fg_buf_t *b, const char *s, size_t n);

#endif
