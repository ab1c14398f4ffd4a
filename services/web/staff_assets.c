/*
 * staff_assets.c - GET /assets/staff.css: what only the staff pages need
 * (navigation, dense tables, filters, the overview's chart), on top of
 * /assets/feegate.css.  No inline style anywhere: the CSP forbids it.
 */
#include "web/staff.h"

#include <string.h>

/* clang-format off */
static const char CSS[] =
    ".staff-nav{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;"
    "margin:0 0 1rem;padding:.5rem 0;border-bottom:1px solid var(--line)}"
    ".staff-nav ul{display:flex;flex-wrap:wrap;gap:.25rem .9rem;list-style:none;margin:0;padding:0}"
    ".staff-nav a{text-decoration:none;font-weight:600;padding:.2rem 0}"
    ".staff-nav a[aria-current=page]{border-bottom:3px solid var(--accent)}"
    ".staff-nav .logout{display:flex;gap:.5rem;align-items:center;margin:0}"
    ".staff-nav .logout button{padding:.35rem .7rem;font-size:.875rem}"
    ".who{color:var(--muted);font-size:.875rem;overflow-wrap:anywhere}"
    ".filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:0 1rem;align-items:end}"
    ".filters button{margin-top:.75rem}"
    ".inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:0}"
    ".inline label{margin:0;align-self:center}"
    ".inline input,.inline select{width:auto;min-width:8rem}"
    "table.data{font-size:.925rem}"
    "table.data th{background:#eef2f7;white-space:nowrap}"
    /* a wide table scrolls sideways on a phone rather than squeezing its columns */
    ".table-wrap table.data{min-width:40rem}"
    ".table-wrap:focus-visible{outline:3px solid #f0a500;outline-offset:2px}"
    /* a free text (an address, a provider's reference or error, a memo) wraps anywhere, so that a
     * table of many columns fits a desk's width whole */
    "table.data td.long{overflow-wrap:anywhere;min-width:6rem}"
    ".grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}"
    ".chart{width:100%;max-width:32rem;height:auto;display:block}"
    ".chart .bar-today{fill:#f0a500}.chart .bar-month{fill:var(--accent)}"
    ".chart text{font:16px system-ui,sans-serif;fill:var(--ink)}"
    ".card>h2:first-child{margin-top:0}"
    ".legend{display:flex;gap:1rem;font-size:.875rem;color:var(--muted)}"
    ".swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}"
    ".swatch.today{background:#f0a500}.swatch.month{background:var(--accent)}"
    ".pager{display:flex;gap:1rem;margin:1rem 0}"
    ".secret{font-family:ui-monospace,monospace;background:#fff;border:1px dashed var(--accent);padding:.5rem;"
    "overflow-wrap:anywhere}"
    ".login{max-width:26rem}"
    /* a heading that names an id (rec_…) wraps on a phone rather than running off the screen */
    "h1,h2[data-url]{overflow-wrap:anywhere}"
    ".copy button{white-space:nowrap;flex:none}"
    "table.data button{white-space:nowrap}"
    "form+.table-wrap,.table-wrap+section.card{margin-top:1rem}"
    "textarea{min-height:4rem}"
    "pre.json{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8rem;margin:0}"
    /* a few counts side by side: the figure under its name */
    "dl.stats{display:flex;flex-wrap:wrap;gap:.5rem 2.5rem}"
    "dl.stats dd{margin:0;font-size:1.35rem;font-weight:700;font-variant-numeric:tabular-nums}"
    "dl.stats>div{min-width:6rem}"
    /* a reconciliation item's resolve form: each field under its label, two to a row */
    ".resolve{display:grid;grid-template-columns:repeat(2,minmax(7.5rem,1fr));gap:.35rem .6rem;align-items:end;"
    "margin:0;min-width:16rem}"
    ".resolve label{margin:0 0 .15rem;font-size:.8rem}"
    ".resolve input,.resolve select{width:100%;min-width:0;margin:0}"
    ".resolve button{justify-self:start}"
    ".nowrap{white-space:nowrap}"
    /* an id (po_…, pob_…, mer_…) in a cell breaks anywhere rather than widening its table past a phone or
     * a desk */
    "table.data td code{overflow-wrap:anywhere;word-break:break-all}"
    "table.data td.id{min-width:9rem;overflow-wrap:anywhere;word-break:break-all}"
    "strong.id{overflow-wrap:anywhere;word-break:break-all}"
    ".why{display:block;color:var(--muted);font-size:.85rem;margin-top:.15rem}"
    /* on a phone a table.stack is a list of cards: each cell under its column's name */
    "@media (max-width:44rem){.table-wrap table.stack{min-width:0}"
    "table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}"
    "table.stack,table.stack tbody,table.stack tr,table.stack td{display:block}"
    "table.stack tr{border:1px solid var(--line);border-radius:.5rem;background:#fff;margin:0 0 .75rem;"
    "padding:.35rem .75rem}"
    "table.stack td{border:0;padding:.2rem 0;text-align:left}"
    "table.stack td[data-label]{position:relative;padding-left:7.5rem;min-height:1.4rem}"
    "table.stack td[data-label]::before{content:attr(data-label);position:absolute;left:0;width:7rem;"
    "color:var(--muted);font-size:.85rem}"
    "table.stack td:empty{display:none}}";
/* clang-format on */

void fg_staff_css(fg_call_t *call, fg_db_t *db)
{
    (void)db;
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_append(&b, CSS, sizeof(CSS) - 1);
    fg_html_security_headers(call);
    fg_call_add_header(call, "cache-control", "public, max-age=86400");
    fg_call_body(call, 200, "text/css; charset=utf-8", &b);
}
