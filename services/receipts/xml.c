/*
 * xml.c - the receipt document (xml.h), built as a libxml2 tree: every text
 * goes in through xmlNewTextChild, which escapes it, and the tree is written
 * out by the library.
 */
#include "receipts/xml.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <libxml/tree.h>
#include "core/day.h"
#include "core/money.h"
#include "core/text.h"
#include "receipts/sign.h"

/* The schema version the document follows (PBan) and its title (THDon). */
static const char VERSION[] = "2.0.1";
static const char TITLE[] = "BIÊN LAI THU PHÍ, LỆ PHÍ";

/* A text XML 1.0 can carry: valid UTF-8 with no C0 control character but
 * tab, line feed and carriage return (DEL and the C1 controls are XML 1.0
 * characters, and orders accept them). */
static int xml_text_ok(const char *s)
{
    size_t n = strlen(s);
    if (!fg_utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 0;
        /* U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters */
        if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbf && ((unsigned char)s[i + 2] & 0xfe) == 0xbe)
            return 0;
    }
    return 1;
}

/* A time in GMT+7 as RFC 3339 with its offset: 2026-12-04T15:30:00+07:00. */
static void local_time(int64_t ms, char out[32])
{
    time_t t = (time_t)((ms + FG_DAY_OFFSET_MS) / 1000);
    struct tm tm;
    if (ms < 0 || gmtime_r(&t, &tm) == NULL) {
        out[0] = '\0';
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S+07:00", &tm);
}

/* How the payer paid (HTTToan), in the words receipts use. */
static const char *payment_form(const char *method)
{
    if (strcmp(method, "vietqr") == 0)
        return "Chuyển khoản (VietQR)";
    if (strcmp(method, "vnpay") == 0)
        return "Thanh toán điện tử (VNPay)";
    if (strcmp(method, "momo") == 0)
        return "Ví điện tử (MoMo)";
    if (strcmp(method, "sandbox") == 0)
        return "Thanh toán thử nghiệm (sandbox)";
    return method;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, text != NULL ? BAD_CAST text : NULL);
}

/* One TTKhac/TTin: a named extra field (TTruong), its kind (KDLieu) and value. */
static void extra(xmlNodePtr ttkhac, const char *name, const char *kind, const char *value)
{
    if (value[0] == '\0')
        return;
    xmlNodePtr ttin = child(ttkhac, "TTin", NULL);
    child(ttin, "TTruong", name);
    child(ttin, "KDLieu", kind);
    child(ttin, "DLieu", value);
}

static int fields_ok(const fg_receipt_t *r, const char *words)
{
    const char *texts[] = {r->id,         r->payment_id,   r->order_id,  r->merchant_id,   r->related_id,
                           r->form,       r->serial,       r->unit_name, r->unit_tax_code, r->unit_address,
                           r->payer_name, r->payer_ref,    r->fee_type,  r->description,   r->currency,
                           r->method,     r->provider_ref, words};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (!xml_text_ok(texts[i]))
            return 0;
    int64_t magnitude = r->amount < 0 ? -r->amount : r->amount;
    return r->number >= 1 && r->number <= FG_RECEIPT_NUMBER_MAX && r->amount != INT64_MIN &&
           fg_amount_valid(magnitude) && fg_currency_find(r->currency, strlen(r->currency)) != NULL &&
           r->form[0] != '\0' && r->serial[0] != '\0' && r->unit_name[0] != '\0' && words[0] != '\0' &&
           strlen(words) <= FG_RECEIPT_WORDS_MAX && (r->kind == FG_RECEIPT_ORIGINAL || r->related_id[0] != '\0');
}

int fg_receipt_xml(const fg_receipt_t *r, const char *amount_words, fg_buf_t *out)
{
    char number[16], day[11], amount[32], paid_at[32], issued_at[32];
    if (!fields_ok(r, amount_words))
        return FG_EINVALID;
    const fg_currency_t *currency = fg_currency_find(r->currency, strlen(r->currency));
    snprintf(number, sizeof(number), "%07lld", (long long)r->number);
    fg_day_format(fg_day_of_ms(r->issued_at_ms), day);
    if (fg_money_format(r->amount, currency->exponent, amount, sizeof(amount)) < 0)
        return FG_EINVALID;
    local_time(r->paid_at_ms, paid_at);
    local_time(r->issued_at_ms, issued_at);

    fg_receipt_xml_init();
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "HDon");
    xmlDocSetRootElement(doc, root);
    xmlNodePtr data = child(root, "DLHDon", NULL);

    xmlNodePtr general = child(data, "TTChung", NULL);
    child(general, "PBan", VERSION);
    child(general, "THDon", TITLE);
    child(general, "KHMSHDon", r->form);
    child(general, "KHHDon", r->serial);
    child(general, "SHDon", number);
    child(general, "NLap", day);
    child(general, "DVTTe", r->currency);
    child(general, "HTTToan", payment_form(r->method));
    if (r->kind != FG_RECEIPT_ORIGINAL) {
        char kind[2] = {r->kind == FG_RECEIPT_REPLACEMENT ? '1' : '2', '\0'};
        xmlNodePtr related = child(general, "TTHDLQuan", NULL);
        child(related, "TCHDon", kind);
        child(related, "GChu", r->related_id);
    }
    xmlNodePtr more = child(general, "TTKhac", NULL);
    extra(more, "MaBienLai", "string", r->id);
    extra(more, "MaThanhToan", "string", r->payment_id);
    extra(more, "MaLenhThu", "string", r->order_id);
    extra(more, "MaDonViThu", "string", r->merchant_id);
    extra(more, "PhuongThuc", "string", r->method);
    extra(more, "MaGiaoDich", "string", r->provider_ref);
    extra(more, "ThoiDiemThanhToan", "dateTime", paid_at);
    extra(more, "ThoiDiemLap", "dateTime", issued_at);

    xmlNodePtr content = child(data, "NDHDon", NULL);
    xmlNodePtr seller = child(content, "NBan", NULL);
    child(seller, "Ten", r->unit_name);
    child(seller, "MST", r->unit_tax_code);
    child(seller, "DChi", r->unit_address);
    xmlNodePtr buyer = child(content, "NMua", NULL);
    child(buyer, "Ten", r->payer_name);
    if (r->payer_ref[0] != '\0')
        child(buyer, "MKHang", r->payer_ref);
    xmlNodePtr item = child(child(content, "DSHHDVu", NULL), "HHDVu", NULL);
    child(item, "STT", "1");
    child(item, "THHDVu", r->description[0] != '\0' ? r->description : r->fee_type);
    if (r->fee_type[0] != '\0')
        child(item, "MHHDVu", r->fee_type);
    child(item, "SLuong", "1");
    child(item, "DGia", amount);
    child(item, "ThTien", amount);
    xmlNodePtr total = child(content, "TToan", NULL);
    child(total, "TgTTTBSo", amount);
    child(total, "TgTTTBChu", amount_words);

    child(child(root, "DSCKS", NULL), "NBan", NULL);

    xmlChar *text = NULL;
    int len = 0;
    xmlDocDumpFormatMemoryEnc(doc, &text, &len, "UTF-8", 1);
    xmlFreeDoc(doc);
    if (text == NULL || len <= 0) {
        xmlFree(text);
        return FG_EIO;
    }
    fg_buf_append(out, text, (size_t)len);
    xmlFree(text);
    return 0;
}
