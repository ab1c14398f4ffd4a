/*
 * html.h - what every page shares (docs/PAGES.md): the document around the
 * content, the security headers, the language (Vietnamese first, English on
 * a remembered toggle), form and cookie reading.
 *
 *     fg_html_t p;
 *     fg_html_begin(&p, call, "pay-bill", "Hóa đơn", "Bill");
 *     fg_html_puts(&p, "<p>");
 *     fg_html_text(&p, payer_name);                 (escaped)
 *     fg_html_puts(&p, fg_html_tr(&p, "Đã nộp", "Paid"));
 *     fg_html_end(&p, 200);                         (the call now answers)
 */
#ifndef FG_WEB_HTML_H
#define FG_WEB_HTML_H

#include <stddef.h>
#include "core/buf.h"
#include "http/http.h"

typedef enum { FG_LANG_VI = 0, FG_LANG_EN } fg_lang_t;

typedef struct {
    fg_call_t *call;
    fg_buf_t body;
    fg_lang_t lang;
    const char *name; /* data-page */
    int main_open;    /* fg_html_begin opened <main>; fg_html_end closes it */
} fg_html_t;

/** The language of the call: ?lang=vi|en (remembered in the lang cookie by
 *  fg_html_begin), else the lang cookie, else Vietnamese. */
fg_lang_t fg_html_lang(fg_call_t *call);

/** Opens the document: <html lang>, the title (title_vi or title_en), the
 *  stylesheet, the script, the header with the language toggle, and
 *  <main data-page="name">.  extra_attrs (NULL or e.g. "data-status=\"paid\"",
 *  trusted) goes into <main>. */
void fg_html_begin(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                   const char *extra_attrs);

/** fg_html_begin with <meta http-equiv="refresh" content="refresh_s"> in the
 *  head when refresh_s > 0: a page that reloads itself without script (a
 *  receipt still processing). */
void fg_html_begin_refresh(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                           const char *extra_attrs, int refresh_s);

/** fg_html_begin of a page that watches for its own change while open (a bill
 *  that may be paid from another device): <main data-watch="watch_s"> has the
 *  script fetch the page every watch_s seconds and reload it when its
 *  data-status or its [data-owed] changed; without script,
 *  <noscript><meta http-equiv="refresh" content="2*watch_s"></noscript>
 *  reloads it.  watch_s > 0. */
void fg_html_begin_watch(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                         const char *extra_attrs, int watch_s);

/** fg_html_begin of a page that sends the browser on to url at once
 *  (<meta http-equiv="refresh" content="0;url=…">): how a form's answer
 *  reaches another site, since the CSP's form-action 'self' also stops a
 *  form's redirect to another origin.  The page should carry a link to url
 *  as well. */
void fg_html_begin_go(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                      const char *url);

/** vi or en, as the page's language wants. */
const char *fg_html_tr(const fg_html_t *p, const char *vi, const char *en);

/** Appends trusted markup. */
void fg_html_puts(fg_html_t *p, const char *html);
void fg_html_printf(fg_html_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Appends text from outside, escaped for HTML text and attribute values. */
void fg_html_text(fg_html_t *p, const char *s);
void fg_html_textn(fg_html_t *p, const char *s, size_t n);

/** Closes the document and answers it with status, text/html, and the
 *  security headers (fg_html_security_headers). */
void fg_html_end(fg_html_t *p, int status);

/** A complete short page: title and one paragraph (both trusted, chosen by
 *  language), for not found, unavailable and the like. */
void fg_html_message(fg_call_t *call, int status, const char *name, const char *title_vi, const char *title_en,
                     const char *text_vi, const char *text_en);

/** Content-Security-Policy (no inline script or style), nosniff,
 *  Referrer-Policy, frame-ancestors 'none', HSTS over TLS. */
void fg_html_security_headers(fg_call_t *call);

/** Answers 303 See Other to location (a path on this server). */
void fg_html_redirect(fg_call_t *call, const char *location);

/** Value of field name in an application/x-www-form-urlencoded body,
 *  percent- and plus-decoded into out (cleared first; a '%' without two
 *  hex digits stays as it is).  1 when present, 0 when absent. */
int fg_form_field(const char *body, size_t len, const char *name, fg_buf_t *out);

/** Value of cookie name from the Cookie header into out (NUL-terminated);
 *  1 when present and it fits in cap, else 0. */
int fg_call_cookie(fg_call_t *call, const char *name, char *out, size_t cap);

/** GET /assets/feegate.css and /assets/feegate.js: the stylesheet and the
 *  one enhancing script, cached by the browser for a day. */
void fg_web_asset(fg_call_t *call, fg_db_t *db);

#endif
