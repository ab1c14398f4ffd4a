/*
 * assets.c - the stylesheet and the one script every page links to.  Kept
 * here as text so that a binary is a whole deployment (no asset directory to
 * lose, no build step); the browser caches both for a day.
 *
 * The script only enhances: copy buttons ([data-copy]), the receipt's print
 * button ([data-print], hidden without script), a staff refusal's way back
 * to the form it refused ([data-back], hidden without script), and a page that watches
 * itself (main[data-watch], an open bill): every few seconds it fetches its
 * own address and reloads when the status or what is owed changed (for an
 * hour; without script a slower meta refresh does it).  Nothing a page needs
 * to work.
 */
#include "web/html.h"

#include <string.h>

/* clang-format off */
static const char CSS[] =
    ":root{--ink:#17212b;--muted:#4a5968;--line:#d5dde6;--bg:#f5f7fa;--card:#fff;--accent:#0b5cad;"
    "--ok:#17663a;--ok-bg:#e3f4ea;--warn:#8a4b00;--warn-bg:#fff1dc;--bad:#a01c1c;--bad-bg:#fde8e8}"
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;"
    "color:var(--ink);background:var(--bg)}"
    "header.top{display:flex;justify-content:space-between;align-items:center;padding:.6rem 1rem;"
    "background:var(--card);border-bottom:1px solid var(--line)}"
    ".brand{font-weight:700;letter-spacing:.02em}"
    "a{color:var(--accent)}"
    "a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible"
    "{outline:3px solid #f0a500;outline-offset:2px}"
    "main{max-width:34rem;margin:1rem auto;padding:0 1rem}"
    "main.wide,main[data-page^=staff]{max-width:72rem}"
    "h1{font-size:1.35rem;line-height:1.3;margin:.5rem 0 .75rem}"
    "h2{font-size:1.1rem;margin:1.5rem 0 .5rem}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem;margin:0 0 1rem}"
    ".amount{font-size:2rem;font-weight:700;margin:.25rem 0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}"
    ".actions{display:flex;flex-wrap:wrap;gap:.5rem}.actions [hidden]{display:none}"
    "dl{margin:0}dt{color:var(--muted);font-size:.875rem}dd{margin:0 0 .6rem;overflow-wrap:anywhere}"
    ".badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-size:.875rem;font-weight:600;"
    "background:#e8eef5;color:var(--ink)}"
    ".badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.warn{background:var(--warn-bg);color:var(--warn)}"
    ".badge.bad{background:var(--bad-bg);color:var(--bad)}"
    "button,.button{display:inline-block;font:inherit;font-weight:600;padding:.7rem 1rem;border-radius:.5rem;"
    "border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;"
    "text-align:center}"
    "button.secondary,.button.secondary{background:var(--card);color:var(--accent)}"
    "button.block,.button.block{display:block;width:100%;margin:.5rem 0}"
    "label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input,select,textarea{font:inherit;width:100%;padding:.6rem;border:1px solid #8796a5;border-radius:.4rem;"
    "background:#fff;color:var(--ink)}"
    "table{border-collapse:collapse;width:100%;background:var(--card)}"
    "th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".table-wrap{overflow-x:auto}"
    ".copy{display:flex;gap:.5rem;align-items:center;justify-content:space-between}"
    ".copy button{padding:.3rem .6rem;font-size:.875rem}"
    ".notice{padding:.75rem 1rem;border-radius:.5rem;background:var(--warn-bg);color:var(--warn);margin:0 0 1rem}"
    ".notice.ok{background:var(--ok-bg);color:var(--ok)}"
    ".error{padding:.75rem 1rem;border-radius:.5rem;background:var(--bad-bg);color:var(--bad);margin:0 0 1rem}"
    ".muted{color:var(--muted)}"
    ".qr{display:block;margin:.5rem auto;max-width:100%;height:auto;background:#fff}"
    ".receipt-qr{margin:1rem 0 0;text-align:center}"
    ".receipt-qr svg{display:block;margin:0 auto;width:12rem;max-width:100%;height:auto}"
    ".receipt-qr figcaption{font-size:.875rem;color:var(--muted)}"
    "[hidden]{display:none!important}"
    ".skip{position:absolute;left:-999px;top:0;padding:.5rem 1rem;background:var(--card);z-index:2}"
    ".skip:focus{left:.5rem}"
    "p.badge{margin:0 0 1rem}"
    ".card>h2:first-child{margin-top:0}"
    "code{font-size:1rem;letter-spacing:.05em}"
    ".copy span{overflow-wrap:anywhere}"
    "@media (max-width:400px){main{padding:0 .6rem}.amount{font-size:1.7rem}}"
    "@media print{header.top,button,.button,form,.no-print,.skip{display:none!important}"
    "body{background:#fff;color:#000;font-size:11pt}main{max-width:none;margin:0;padding:0}"
    ".card{border:0;padding:0}.receipt dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}"
    ".receipt dd{margin:0}.badge{border:1px solid #000;background:none!important;color:#000!important}"
    "a{color:#000;text-decoration:none}"
    "@page{size:A5;margin:12mm}}"
    "@media print and (min-width:180mm){@page{size:A4;margin:18mm}}";

static const char JS[] =
    "'use strict';\n"
    "document.addEventListener('DOMContentLoaded',function(){\n"
    "  document.querySelectorAll('[data-copy]').forEach(function(el){\n"
    "    if(!navigator.clipboard)return;\n"
    "    var b=document.createElement('button');\n"
    "    b.type='button';b.className='secondary';\n"
    "    var vi=document.documentElement.lang!=='en';\n"
    "    b.textContent=vi?'Sao ch\\u00e9p':'Copy';\n"
    "    b.setAttribute('aria-label',(vi?'Sao ch\\u00e9p ':'Copy ')+(el.getAttribute('data-copy-label')||''));\n"
    "    b.addEventListener('click',function(){\n"
    "      navigator.clipboard.writeText(el.getAttribute('data-copy')).then(function(){\n"
    "        b.textContent=vi?'\\u0110\\u00e3 ch\\u00e9p':'Copied';\n"
    "      });\n"
    "    });\n"
    "    el.appendChild(b);\n"
    "  });\n"
    "  document.querySelectorAll('[data-print]').forEach(function(b){\n"
    "    b.hidden=false;\n"
    "    b.addEventListener('click',function(){window.print();});\n"
    "  });\n"
    "  document.querySelectorAll('[data-back]').forEach(function(b){\n"
    "    if(history.length<2)return;\n"
    "    b.hidden=false;\n"
    "    b.addEventListener('click',function(){history.back();});\n"
    "  });\n"
    "  document.querySelectorAll('form[data-form=resolve]').forEach(function(f){\n"
    "    var a=f.querySelector('select[name=action]'),more=f.querySelectorAll('[data-for]');\n"
    "    if(!a||!more.length)return;\n"
    "    function show(){more.forEach(function(d){d.hidden=d.getAttribute('data-for')!==a.value;});}\n"
    "    a.addEventListener('change',show);show();\n"
    "  });\n"
    "  var main=document.querySelector('main[data-watch]');\n"
    "  if(!main||!window.fetch||!window.DOMParser)return;\n"
    "  var every=Math.max(2,parseInt(main.getAttribute('data-watch'),10)||5)*1000;\n"
    "  var until=Date.now()+3600*1000;\n"
    "  function state(doc){\n"
    "    var m=doc.querySelector('main[data-page]'),o=doc.querySelector('[data-owed]');\n"
    "    return m?(m.getAttribute('data-status')+' '+(o?o.getAttribute('data-owed'):'')):null;\n"
    "  }\n"
    "  var shown=state(document);\n"
    "  function look(){\n"
    "    if(Date.now()>until)return;\n"
    "    if(document.hidden){setTimeout(look,every);return;}\n"
    "    fetch(location.href,{cache:'no-store',credentials:'same-origin'}).then(function(r){\n"
    "      return r.ok?r.text():null;\n"
    "    }).then(function(t){\n"
    "      var now=t?state(new DOMParser().parseFromString(t,'text/html')):null;\n"
    "      if(now&&now!==shown){location.reload();return;}\n"
    "      setTimeout(look,every);\n"
    "    },function(){setTimeout(look,every);});\n"
    "  }\n"
    "  setTimeout(look,every);\n"
    "});\n";
/* clang-format on */

void fg_web_asset(fg_call_t *call, fg_db_t *db)
{
    (void)db;
    const char *name = call->params[0];
    const char *text = NULL, *type = NULL;
    size_t len = 0;
    if (strcmp(name, "feegate.css") == 0)
        text = CSS, len = sizeof(CSS) - 1, type = "text/css; charset=utf-8";
    else if (strcmp(name, "feegate.js") == 0)
        text = JS, len = sizeof(JS) - 1, type = "text/javascript; charset=utf-8";
    if (text == NULL) {
        fg_call_error(call, 404, "not_found", "asset_not_found", "no such asset", NULL);
        return;
    }
    fg_buf_t b = FG_BUF_INIT;
    fg_buf_append(&b, text, len);
    fg_html_security_headers(call);
    fg_call_add_header(call, "cache-control", "public, max-age=86400");
    fg_call_body(call, 200, type, &b);
}
