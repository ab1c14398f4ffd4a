/*
 * html.c - what every page shares: the document frame, security headers,
 * language, form fields and cookies (html.h).
 */
#include "web/html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/text.h"
#include "web/web.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define LANG_COOKIE_MAX_AGE_S (365 * 24 * 3600)

fg_lang_t fg_html_lang(fg_call_t *call)
{
    const char *q = fg_call_query(call, "lang", NULL);
    if (q != NULL && (strcmp(q, "en") == 0 || strcmp(q, "vi") == 0))
        return q[0] == 'e' ? FG_LANG_EN : FG_LANG_VI;
    char c[8];
    if (fg_call_cookie(call, "lang", c, sizeof(c)) && strcmp(c, "en") == 0)
        return FG_LANG_EN;
    return FG_LANG_VI;
}

const char *fg_html_tr(const fg_html_t *p, const char *vi, const char *en) { return p->lang == FG_LANG_EN ? en : vi; }

void fg_html_puts(fg_html_t *p, const char *html) { fg_buf_puts(&p->body, html); }

void fg_html_printf(fg_html_t *p, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        fg_buf_append(&p->body, small, (size_t)n);
        return;
    }
    char *big = fg_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    fg_buf_append(&p->body, big, (size_t)n);
    free(big);
}

void fg_html_text(fg_html_t *p, const char *s)
{
    if (s != NULL)
        fg_html_escape(&p->body, s, strlen(s));
}

void fg_html_textn(fg_html_t *p, const char *s, size_t n)
{
    if (s != NULL)
        fg_html_escape(&p->body, s, n);
}

/* The current path and query with lang=other, for the toggle (the path and
 * query are escaped: they come from the request). */
static void toggle_link(fg_html_t *p)
{
    const char *other = p->lang == FG_LANG_EN ? "vi" : "en";
    const char *q = p->call->query_raw, *path = p->call->path;
    size_t path_len = strlen(path);
    /* the answer to a payer's form (POST /pay/{code}/start): a GET of that
     * path is no page, the bill is */
    int answer = p->call->method != NULL && strcmp(p->call->method, "GET") != 0;
    if (answer && strncmp(path, "/pay/", 5) == 0) {
        const char *slash = strrchr(path, '/');
        if (slash > path + 4)
            path_len = (size_t)(slash - path);
        q = NULL; /* a form's answer has no query of its own to keep */
    } else if (answer && strncmp(path, "/staff/", 7) == 0) {
        /* the answer to a staff form (a refusal): its section's page, or the
         * reconciliation it acted on; a GET of the form's own path is none */
        static const char RUN[] = "/staff/reconciliations/";
        const char *end = strchr(path + 7, '/');
        if (end != NULL && strncmp(path, RUN, sizeof(RUN) - 1) == 0)
            end = strchr(path + sizeof(RUN) - 1, '/');
        if (end != NULL)
            path_len = (size_t)(end - path);
        q = NULL;
    }
    fg_buf_puts(&p->body, "<a class=\"lang\" href=\"");
    fg_html_escape(&p->body, path, path_len);
    fg_buf_putc(&p->body, '?');
    for (size_t at = 0, len = q != NULL ? strlen(q) : 0; at < len;) {
        const char *amp = memchr(q + at, '&', len - at);
        size_t n = amp != NULL ? (size_t)(amp - (q + at)) : len - at;
        if (n > 0 && !(n >= 5 && memcmp(q + at, "lang=", 5) == 0) && !(n == 4 && memcmp(q + at, "lang", 4) == 0)) {
            fg_html_escape(&p->body, q + at, n);
            fg_buf_puts(&p->body, "&amp;");
        }
        at += n + 1;
    }
    fg_buf_printf(&p->body, "lang=%s\" hreflang=\"%s\" lang=\"%s\">%s</a>", other, other, other,
                  p->lang == FG_LANG_EN ? "Tiếng Việt" : "English");
}

void fg_html_begin(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                   const char *extra_attrs)
{
    fg_html_begin_refresh(p, call, name, title_vi, title_en, extra_attrs, 0);
}

static void begin(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                  const char *extra_attrs, int refresh_s, const char *go_url, int watch_s)
{
    memset(p, 0, sizeof(*p));
    p->call = call;
    p->name = name;
    p->lang = fg_html_lang(call);
    const char *q = fg_call_query(call, "lang", NULL);
    if (q != NULL && (strcmp(q, "en") == 0 || strcmp(q, "vi") == 0)) {
        char cookie[96];
        snprintf(cookie, sizeof(cookie), "lang=%s; Path=/; Max-Age=%d; SameSite=Lax%s", q, LANG_COOKIE_MAX_AGE_S,
                 call->is_tls ? "; Secure" : "");
        fg_call_add_header(call, "set-cookie", cookie);
    }
    fg_buf_printf(&p->body,
                  "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
                  p->lang == FG_LANG_EN ? "en" : "vi");
    if (go_url != NULL) {
        fg_buf_puts(&p->body, "<meta http-equiv=\"refresh\" content=\"0;url=");
        fg_html_escape(&p->body, go_url, strlen(go_url));
        fg_buf_puts(&p->body, "\">");
    } else if (refresh_s > 0) {
        fg_buf_printf(&p->body, "<meta http-equiv=\"refresh\" content=\"%d\">", refresh_s);
    } else if (watch_s > 0) {
        fg_buf_printf(&p->body, "<noscript><meta http-equiv=\"refresh\" content=\"%d\"></noscript>", 2 * watch_s);
    }
    fg_buf_puts(&p->body, "<title>");
    fg_html_text(p, fg_html_tr(p, title_vi, title_en));
    fg_buf_puts(&p->body, " · feegate</title><link rel=\"stylesheet\" href=\"/assets/feegate.css\">"
                          "<script src=\"/assets/feegate.js\" defer></script></head><body>"
                          "<a class=\"skip\" href=\"#main\">");
    fg_buf_puts(&p->body, fg_html_tr(p, "Bỏ qua đến nội dung", "Skip to content"));
    fg_buf_puts(&p->body, "</a><header class=\"top\"><span class=\"brand\">feegate</span>");
    toggle_link(p);
    fg_buf_printf(&p->body, "</header><main id=\"main\" data-page=\"%s\"%s%s", name, extra_attrs != NULL ? " " : "",
                  extra_attrs != NULL ? extra_attrs : "");
    if (watch_s > 0)
        fg_buf_printf(&p->body, " data-watch=\"%d\"", watch_s);
    fg_buf_putc(&p->body, '>');
    p->main_open = 1;
}

void fg_html_begin_refresh(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                           const char *extra_attrs, int refresh_s)
{
    begin(p, call, name, title_vi, title_en, extra_attrs, refresh_s, NULL, 0);
}

void fg_html_begin_watch(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                         const char *extra_attrs, int watch_s)
{
    begin(p, call, name, title_vi, title_en, extra_attrs, 0, NULL, watch_s);
}

void fg_html_begin_go(fg_html_t *p, fg_call_t *call, const char *name, const char *title_vi, const char *title_en,
                      const char *url)
{
    begin(p, call, name, title_vi, title_en, NULL, 0, url, 0);
}

void fg_html_security_headers(fg_call_t *call)
{
    fg_call_add_header(call, "content-security-policy",
                       "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
                       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    fg_call_add_header(call, "x-content-type-options", "nosniff");
    fg_call_add_header(call, "referrer-policy", "no-referrer");
    fg_call_add_header(call, "x-frame-options", "DENY");
    if (call->is_tls)
        fg_call_add_header(call, "strict-transport-security", "max-age=31536000");
}

void fg_html_end(fg_html_t *p, int status)
{
    if (p->main_open)
        fg_buf_puts(&p->body, "</main>");
    fg_buf_puts(&p->body, "</body></html>");
    fg_html_security_headers(p->call);
    fg_call_body(p->call, status, HTML_TYPE, &p->body);
}

void fg_html_message(fg_call_t *call, int status, const char *name, const char *title_vi, const char *title_en,
                     const char *text_vi, const char *text_en)
{
    fg_html_t p;
    fg_html_begin(&p, call, name, title_vi, title_en, NULL);
    fg_html_printf(&p, "<h1>%s</h1><p>%s</p>", fg_html_tr(&p, title_vi, title_en), fg_html_tr(&p, text_vi, text_en));
    fg_html_end(&p, status);
}

void fg_html_redirect(fg_call_t *call, const char *location)
{
    fg_buf_t empty = FG_BUF_INIT;
    fg_call_add_header(call, "location", location);
    fg_html_security_headers(call);
    fg_call_body(call, 303, HTML_TYPE, &empty);
}

int fg_form_field(const char *body, size_t len, const char *name, fg_buf_t *out)
{
    size_t name_len = strlen(name);
    fg_buf_reset(out);
    for (size_t at = 0; at < len;) {
        const char *pair = body + at;
        const char *amp = memchr(pair, '&', len - at);
        size_t pair_len = amp != NULL ? (size_t)(amp - pair) : len - at;
        const char *eq = memchr(pair, '=', pair_len);
        size_t key_len = eq != NULL ? (size_t)(eq - pair) : pair_len;
        size_t decoded_len = 0;
        char *key = fg_form_decode(pair, key_len, &decoded_len);
        int match = decoded_len == name_len && memcmp(key, name, name_len) == 0;
        free(key);
        if (match) {
            const char *v = eq != NULL ? eq + 1 : pair + pair_len;
            size_t v_len = eq != NULL ? pair_len - key_len - 1 : 0;
            char *value = fg_form_decode(v, v_len, &decoded_len);
            fg_buf_append(out, value, decoded_len);
            free(value);
            return 1;
        }
        at += pair_len + 1;
    }
    return 0;
}

int fg_call_cookie(fg_call_t *call, const char *name, char *out, size_t cap)
{
    const char *h = fg_call_header(call, "cookie");
    size_t name_len = strlen(name);
    if (h == NULL || cap == 0)
        return 0;
    for (const char *p = h; *p != '\0';) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t part = end != NULL ? (size_t)(end - p) : strlen(p);
        if (part > name_len && p[name_len] == '=' && memcmp(p, name, name_len) == 0) {
            size_t v_len = part - name_len - 1;
            if (v_len >= cap)
                return 0;
            memcpy(out, p + name_len + 1, v_len);
            out[v_len] = '\0';
            return 1;
        }
        p += part;
    }
    return 0;
}
