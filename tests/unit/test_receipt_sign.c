/*
 * test_receipt_sign.c - the signed e-receipt (receipts/xml.h, sign.h,
 * qr_payload.h, keys.h): the XML document, its XMLDSig signature checked by
 * the stock `xmlsec1 --verify` command (RSA-SHA256 and ECDSA-SHA256) and by
 * fg_receipt_verify_xml, tampering with any field failing both; the QR
 * payload checked by Python's cryptography package
 * (tests/unit/verify_receipt_jws.py) and by fg_receipt_qr_verify, tampering
 * failing both; key rotation (old receipts verify while their key is
 * published, not after); the JWK set; several threads signing with one key
 * set; refused key files.  Keys are made by
 * the openssl command in a temporary directory.
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "core/crypto.h"
#include "receipts/keys.h"
#include "receipts/qr_payload.h"
#include "receipts/sign.h"
#include "receipts/xml.h"

static char dir[64];
static char path_buf[8][256];

static const char WORDS[] = "Bốn triệu năm trăm nghìn đồng";

/* dir/name, in one of a few rotating buffers. */
static const char *in_dir(const char *name)
{
    static int next;
    char *p = path_buf[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int status = system(cmd);
    return status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* The test's keys, made once before the suite runs. */
static int make_keys(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fg-receipt-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    const char *subj = "-subj '/CN=Truong THCS Test/O=feegate test' -days 30 2>/dev/null";
    return run("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/rsa.key -out %s/rsa.pem %s", dir, dir, subj) ||
                   run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s/ec.key "
                       "-out %s/ec.pem %s",
                       dir, dir, subj) ||
                   run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/qr.key && "
                       "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s/qr-old.key && "
                       "openssl pkey -in %s/qr-old.key -pubout -out %s/qr-old.pub && "
                       "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out %s/p384.key",
                       dir, dir, dir, dir, dir)
               ? -1
               : 0;
}

static fg_receipt_keys_t *keys(const char *sign_key, const char *cert, const char *qr, const char *published)
{
    fg_receipt_key_files_t files = {sign_key, cert, qr, published};
    fg_receipt_keys_t *k = NULL;
    char err[512] = "";
    int rc = fg_receipt_keys_load(&files, &k, err, sizeof(err));
    ck_assert_msg(rc == 0, "keys: %s", err);
    return k;
}

static void receipt(fg_receipt_t *r)
{
    memset(r, 0, sizeof(*r));
    strcpy(r->id, "rct_01JTEST0000000000000000");
    strcpy(r->payment_id, "pay_01JTEST0000000000000000");
    strcpy(r->order_id, "ord_01JTEST0000000000000000");
    strcpy(r->merchant_id, "mer_01JTEST0000000000000000");
    strcpy(r->form, "01BLP0-001");
    strcpy(r->serial, "AB-26E");
    r->number = 123;
    strcpy(r->unit_name, "Trường THCS Nguyễn Du");
    strcpy(r->unit_tax_code, "0101234567");
    strcpy(r->unit_address, "12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội");
    strcpy(r->payer_name, "Nguyễn Văn A <&> \"B\"");
    strcpy(r->payer_ref, "HS-2026-0042");
    strcpy(r->fee_type, "tuition");
    strcpy(r->description, "Học phí tháng 12/2026");
    r->amount = 4500000;
    strcpy(r->currency, "VND");
    strcpy(r->method, "vietqr");
    strcpy(r->provider_ref, "FT26338123456");
    r->paid_at_ms = 1796387400000LL; /* 2026-12-04T12:30:00Z: 19:30 in Hanoi */
    r->issued_at_ms = 1796387401000LL;
}

static void signed_receipt(const fg_receipt_keys_t *k, const fg_receipt_t *r, fg_buf_t *out)
{
    fg_buf_t xml = FG_BUF_INIT;
    char err[512] = "";
    ck_assert_int_eq(fg_receipt_xml(r, WORDS, &xml), 0);
    int rc = fg_receipt_sign_xml(k, xml.data, xml.len, out, err, sizeof(err));
    ck_assert_msg(rc == 0, "sign: %s", err);
    fg_buf_free(&xml);
}

/* `xmlsec1 --verify` with the certificate as the one trusted: its exit status. */
static int xmlsec1_verify(const char *cert, const fg_buf_t *doc)
{
    const char *file = in_dir("doc.xml");
    write_file(file, doc->data, doc->len);
    return run("xmlsec1 --verify --trusted-pem %s %s >%s/xmlsec1.out 2>&1", cert, file, dir);
}

/* doc with the first `from` replaced by `to`. */
static void replaced(const fg_buf_t *doc, const char *from, const char *to, fg_buf_t *out)
{
    const char *at = strstr(doc->data, from);
    ck_assert_msg(at != NULL, "%s is not in the document", from);
    fg_buf_reset(out);
    fg_buf_append(out, doc->data, (size_t)(at - doc->data));
    fg_buf_puts(out, to);
    fg_buf_puts(out, at + strlen(from));
}

/* ---- the document ---------------------------------------------------------------------- */

START_TEST(xml_document_shape)
{
    fg_receipt_t r;
    fg_buf_t xml = FG_BUF_INIT;
    receipt(&r);
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), 0);
    const char *want[] = {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                          "<HDon>",
                          "<DLHDon>",
                          "<TTChung>",
                          "<KHMSHDon>01BLP0-001</KHMSHDon>",
                          "<KHHDon>AB-26E</KHHDon>",
                          "<SHDon>0000123</SHDon>",
                          "<NLap>2026-12-04</NLap>",
                          "<DVTTe>VND</DVTTe>",
                          "<HTTToan>Chuyển khoản (VietQR)</HTTToan>",
                          "<DLieu>2026-12-04T19:30:00+07:00</DLieu>",
                          "<DLieu>FT26338123456</DLieu>",
                          "<NBan>\n        <Ten>Trường THCS Nguyễn Du</Ten>",
                          "<MST>0101234567</MST>",
                          "<DChi>12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội</DChi>",
                          "<Ten>Nguyễn Văn A &lt;&amp;&gt; \"B\"</Ten>",
                          "<MKHang>HS-2026-0042</MKHang>",
                          "<THHDVu>Học phí tháng 12/2026</THHDVu>",
                          "<ThTien>4500000</ThTien>",
                          "<TgTTTBSo>4500000</TgTTTBSo>",
                          "<TgTTTBChu>Bốn triệu năm trăm nghìn đồng</TgTTTBChu>",
                          "<DSCKS>",
                          "</HDon>"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(xml.data, want[i]) != NULL, "missing %s in\n%s", want[i], xml.data);
    ck_assert_ptr_null(strstr(xml.data, "TTHDLQuan"));
    /* libxml2 reads it back as well-formed */
    write_file(in_dir("plain.xml"), xml.data, xml.len);
    ck_assert_int_eq(run("xmllint --noout %s", in_dir("plain.xml")), 0);
    fg_buf_free(&xml);
}
END_TEST

START_TEST(xml_adjustment_and_refusals)
{
    fg_receipt_t r;
    fg_buf_t xml = FG_BUF_INIT;
    receipt(&r);
    r.kind = FG_RECEIPT_ADJUSTMENT;
    r.amount = -500000;
    strcpy(r.related_id, "rct_01JORIGINAL000000000000");
    ck_assert_int_eq(fg_receipt_xml(&r, "Âm năm trăm nghìn đồng", &xml), 0);
    ck_assert_ptr_nonnull(strstr(xml.data, "<TTHDLQuan>\n        <TCHDon>2</TCHDon>\n        "
                                           "<GChu>rct_01JORIGINAL000000000000</GChu>"));
    ck_assert_ptr_nonnull(strstr(xml.data, "<TgTTTBSo>-500000</TgTTTBSo>"));
    /* an adjustment must name its original */
    r.related_id[0] = '\0';
    fg_buf_reset(&xml);
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    receipt(&r);
    r.number = 0;
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    r.number = 10000000;
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    receipt(&r);
    r.amount = 0;
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    receipt(&r);
    strcpy(r.currency, "XXQ");
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    receipt(&r);
    strcpy(r.payer_name, "A\001B"); /* no XML 1.0 character */
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    receipt(&r);
    strcpy(r.unit_name, "\xc3\x28"); /* not UTF-8 */
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &xml), FG_EINVALID);
    receipt(&r);
    ck_assert_int_eq(fg_receipt_xml(&r, "", &xml), FG_EINVALID);
    ck_assert_uint_eq(xml.len, 0);
    fg_buf_free(&xml);
}
END_TEST

/* ---- XMLDSig ------------------------------------------------------------------------------ */

static void sign_and_check(const char *key, const char *cert, const char *method)
{
    fg_receipt_keys_t *k = keys(key, cert, NULL, NULL);
    fg_receipt_t r;
    fg_buf_t doc = FG_BUF_INIT;
    char err[512] = "";
    receipt(&r);
    signed_receipt(k, &r, &doc);
    ck_assert_ptr_nonnull(strstr(doc.data, method));
    ck_assert_ptr_nonnull(strstr(doc.data, "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"));
    ck_assert_ptr_nonnull(strstr(doc.data, "http://www.w3.org/2000/09/xmldsig#enveloped-signature"));
    ck_assert_ptr_nonnull(strstr(doc.data, "http://www.w3.org/2001/04/xmlenc#sha256"));
    ck_assert_ptr_nonnull(strstr(doc.data, "<Reference URI=\"\">"));
    ck_assert_ptr_nonnull(
        strstr(doc.data, "<DSCKS>\n    <NBan><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"));
    char key_name[128];
    snprintf(key_name, sizeof(key_name), "<KeyName>%s</KeyName>", fg_receipt_keys_signing_kid(k));
    ck_assert_msg(strstr(doc.data, key_name) != NULL, "%s", doc.data);
    ck_assert_ptr_nonnull(strstr(doc.data, "<X509Certificate>"));
    /* the stock tool, trusting only the certificate */
    ck_assert_int_eq(xmlsec1_verify(cert, &doc), 0);
    ck_assert_int_eq(run("grep -q '^OK' %s/xmlsec1.out", dir), 0);
    /* and with the certificate's public key alone */
    ck_assert_int_eq(run("xmlsec1 --verify --pubkey-cert-pem %s %s >/dev/null 2>&1", cert, in_dir("doc.xml")), 0);
    fg_receipt_xml_info_t info;
    int rc = fg_receipt_verify_xml(k, doc.data, doc.len, &info, err, sizeof(err));
    ck_assert_msg(rc == 0, "verify: %s", err);
    ck_assert_str_eq(info.kid, fg_receipt_keys_signing_kid(k));
    ck_assert_str_eq(info.number, "0000123");
    ck_assert_str_eq(info.amount, "4500000");
    ck_assert_str_eq(info.serial, "AB-26E");
    /* signing a signed document is refused */
    fg_buf_t again = FG_BUF_INIT;
    ck_assert_int_eq(fg_receipt_sign_xml(k, doc.data, doc.len, &again, err, sizeof(err)), FG_EINVALID);
    fg_buf_free(&again);
    fg_buf_free(&doc);
    fg_receipt_keys_free(k);
}

START_TEST(xmldsig_rsa_sha256_verifies_with_xmlsec1)
{
    sign_and_check(in_dir("rsa.key"), in_dir("rsa.pem"), "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
}
END_TEST

START_TEST(xmldsig_ecdsa_sha256_verifies_with_xmlsec1)
{
    sign_and_check(in_dir("ec.key"), in_dir("ec.pem"), "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256");
}
END_TEST

START_TEST(xmldsig_tampering_fails)
{
    fg_receipt_keys_t *k = keys(in_dir("rsa.key"), in_dir("rsa.pem"), NULL, NULL);
    fg_receipt_t r;
    fg_buf_t doc = FG_BUF_INIT, bad = FG_BUF_INIT;
    char err[512];
    receipt(&r);
    signed_receipt(k, &r, &doc);
    static const char *const edits[][2] = {
        {"<TgTTTBSo>4500000</TgTTTBSo>", "<TgTTTBSo>5400000</TgTTTBSo>"},
        {"<ThTien>4500000</ThTien>", "<ThTien>450000</ThTien>"},
        {"<SHDon>0000123</SHDon>", "<SHDon>0000124</SHDon>"},
        {"<Ten>Trường THCS Nguyễn Du</Ten>", "<Ten>Trường THCS Nguyễn Dư</Ten>"},
        {"<MST>0101234567</MST>", "<MST>0101234568</MST>"},
        {"<TgTTTBChu>Bốn triệu", "<TgTTTBChu>Năm triệu"},
        {"<KHHDon>AB-26E</KHHDon>", "<KHHDon>AB-26F</KHHDon>"},
        {"<MKHang>HS-2026-0042</MKHang>", "<MKHang>HS-2026-0043</MKHang>"},
        {"</NMua>", "<DChi>Added</DChi></NMua>"},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        replaced(&doc, edits[i][0], edits[i][1], &bad);
        ck_assert_msg(xmlsec1_verify(in_dir("rsa.pem"), &bad) != 0, "xmlsec1 accepted %s", edits[i][1]);
        fg_receipt_xml_info_t info;
        err[0] = '\0';
        ck_assert_int_eq(fg_receipt_verify_xml(k, bad.data, bad.len, &info, err, sizeof(err)), FG_EINVALID);
        ck_assert_msg(strstr(err, "changed after it was signed") != NULL, "%s: %s", edits[i][1], err);
    }
    /* the signature value itself */
    const char *value = strstr(doc.data, "<SignatureValue>");
    ck_assert_ptr_nonnull(value);
    fg_buf_reset(&bad);
    fg_buf_append(&bad, doc.data, doc.len);
    size_t at = (size_t)(value - doc.data) + strlen("<SignatureValue>") + 10;
    bad.data[at] = bad.data[at] == 'A' ? 'B' : 'A';
    ck_assert_int_ne(xmlsec1_verify(in_dir("rsa.pem"), &bad), 0);
    fg_receipt_xml_info_t info;
    ck_assert_int_eq(fg_receipt_verify_xml(k, bad.data, bad.len, &info, err, sizeof(err)), FG_EINVALID);
    /* another certificate than the signer's */
    ck_assert_int_ne(xmlsec1_verify(in_dir("ec.pem"), &doc), 0);
    /* not XML, a DTD, no signature */
    ck_assert_int_eq(fg_receipt_verify_xml(k, "<HDon>", 6, &info, err, sizeof(err)), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "not well-formed"));
    static const char DTD[] = "<?xml version=\"1.0\"?><!DOCTYPE HDon [<!ENTITY x \"y\">]><HDon><DLHDon/></HDon>";
    ck_assert_int_eq(fg_receipt_verify_xml(k, DTD, strlen(DTD), &info, err, sizeof(err)), FG_EINVALID);
    ck_assert_ptr_nonnull(strstr(err, "DTD"));
    fg_buf_t plain = FG_BUF_INIT;
    ck_assert_int_eq(fg_receipt_xml(&r, WORDS, &plain), 0);
    ck_assert_int_eq(fg_receipt_verify_xml(k, plain.data, plain.len, &info, err, sizeof(err)), FG_EINVALID);
    ck_assert_str_eq(err, "no signature under DSCKS/NBan");
    fg_buf_free(&plain);
    fg_buf_free(&doc);
    fg_buf_free(&bad);
    fg_receipt_keys_free(k);
}
END_TEST

START_TEST(xmldsig_rotation_keeps_old_receipts)
{
    fg_receipt_keys_t *old = keys(in_dir("rsa.key"), in_dir("rsa.pem"), NULL, NULL);
    fg_receipt_t r;
    fg_buf_t doc = FG_BUF_INIT;
    char err[512];
    fg_receipt_xml_info_t info;
    receipt(&r);
    signed_receipt(old, &r, &doc);
    /* rotated: the EC key signs now, the RSA certificate stays published */
    fg_receipt_keys_t *now = keys(in_dir("ec.key"), in_dir("ec.pem"), NULL, in_dir("rsa.pem"));
    ck_assert_int_eq(fg_receipt_verify_xml(now, doc.data, doc.len, &info, err, sizeof(err)), 0);
    ck_assert_str_eq(info.kid, fg_receipt_keys_signing_kid(old));
    /* no longer published: refused, naming the key */
    fg_receipt_keys_t *gone = keys(in_dir("ec.key"), in_dir("ec.pem"), NULL, NULL);
    ck_assert_int_eq(fg_receipt_verify_xml(gone, doc.data, doc.len, &info, err, sizeof(err)), FG_EINVALID);
    ck_assert_msg(strstr(err, fg_receipt_keys_signing_kid(old)) != NULL && strstr(err, "not among") != NULL, "%s", err);
    fg_buf_free(&doc);
    fg_receipt_keys_free(old);
    fg_receipt_keys_free(now);
    fg_receipt_keys_free(gone);
}
END_TEST

/* ---- the QR payload ------------------------------------------------------------------------ */

static int python_verify(const char *key_pem, const char *payload, const char *payer_ref)
{
    return run("/usr/bin/python3 %s/tests/unit/verify_receipt_jws.py %s '%s' '%s' >%s/py.out 2>&1", FEEGATE_SOURCE_DIR,
               key_pem, payload, payer_ref, dir);
}

START_TEST(qr_payload_verified_by_python)
{
    fg_receipt_keys_t *k = keys(NULL, NULL, in_dir("qr.key"), NULL);
    fg_receipt_t r;
    fg_buf_t jws = FG_BUF_INIT;
    char err[512] = "";
    receipt(&r);
    ck_assert_int_eq(fg_receipt_qr_payload(k, &r, &jws, err, sizeof(err)), 0);
    ck_assert_uint_lt(jws.len, 600);
    ck_assert_msg(python_verify(in_dir("qr.key"), jws.data, r.payer_ref) == 0, "python refused %s", jws.data);
    ck_assert_int_eq(run("grep -q '\"amt\": 4500000' %s/py.out && grep -q '\"num\": 123' %s/py.out && "
                         "grep -q '\"mer\": \"mer_01JTEST0000000000000000\"' %s/py.out && "
                         "grep -q '\"iat\": 1796387401' %s/py.out",
                         dir, dir, dir, dir),
                     0);
    fg_receipt_claims_t c;
    ck_assert_int_eq(fg_receipt_qr_verify(jws.data, jws.len, k, &c, err, sizeof(err)), 0);
    ck_assert_int_eq(c.number, 123);
    ck_assert_int_eq(c.amount, 4500000);
    ck_assert_str_eq(c.currency, "VND");
    ck_assert_str_eq(c.serial, "AB-26E");
    ck_assert_str_eq(c.kid, fg_receipt_keys_qr_kid(k));
    char payer[FG_RECEIPT_PAYER_HASH_CAP];
    fg_receipt_payer_hash("HS-2026-0042", payer);
    ck_assert_str_eq(c.payer, payer);
    ck_assert_uint_eq(strlen(payer), 22);
    /* the wrong payer reference does not match */
    ck_assert_int_ne(python_verify(in_dir("qr.key"), jws.data, "HS-2026-0043"), 0);
    fg_buf_free(&jws);
    fg_receipt_keys_free(k);
}
END_TEST

START_TEST(qr_payload_tampering_fails)
{
    fg_receipt_keys_t *k = keys(NULL, NULL, in_dir("qr.key"), NULL);
    fg_receipt_t r;
    fg_buf_t jws = FG_BUF_INIT, bad = FG_BUF_INIT;
    char err[512] = "";
    fg_receipt_claims_t c;
    receipt(&r);
    ck_assert_int_eq(fg_receipt_qr_payload(k, &r, &jws, err, sizeof(err)), 0);
    /* the same claims with another amount (then number), re-encoded, under the original signature */
    const char *dot1 = strchr(jws.data, '.'), *dot2 = strrchr(jws.data, '.');
    static const char *const changes[][2] = {{"\"amt\":4500000", "\"amt\":9500000"}, {"\"num\":123", "\"num\":124"}};
    for (size_t i = 0; i < 2; i++) {
        r.amount = 4500000;
        r.number = 123;
        fg_receipt_claims_t orig;
        ck_assert_int_eq(fg_receipt_qr_verify(jws.data, jws.len, k, &orig, err, sizeof(err)), 0);
        fg_buf_t claims = FG_BUF_INIT, forged = FG_BUF_INIT;
        fg_receipt_claims_json(&claims, &orig);
        replaced(&claims, changes[i][0], changes[i][1], &forged);
        char encoded[1024];
        fg_base64url_encode((const uint8_t *)forged.data, forged.len, encoded);
        fg_buf_reset(&bad);
        fg_buf_append(&bad, jws.data, (size_t)(dot1 + 1 - jws.data));
        fg_buf_puts(&bad, encoded);
        fg_buf_puts(&bad, dot2);
        ck_assert_int_ne(python_verify(in_dir("qr.key"), bad.data, r.payer_ref), 0);
        ck_assert_int_eq(fg_receipt_qr_verify(bad.data, bad.len, k, &c, err, sizeof(err)), FG_EINVALID);
        ck_assert_msg(strstr(err, "does not match") != NULL, "%s", err);
        fg_buf_free(&claims);
        fg_buf_free(&forged);
    }
    /* one character of the signature */
    fg_buf_reset(&bad);
    fg_buf_append(&bad, jws.data, jws.len);
    bad.data[bad.len - 5] = bad.data[bad.len - 5] == 'A' ? 'B' : 'A';
    ck_assert_int_ne(python_verify(in_dir("qr.key"), bad.data, r.payer_ref), 0);
    ck_assert_int_eq(fg_receipt_qr_verify(bad.data, bad.len, k, &c, err, sizeof(err)), FG_EINVALID);
    /* malformed */
    ck_assert_int_eq(fg_receipt_qr_verify("abc", 3, k, &c, err, sizeof(err)), FG_EINVALID);
    ck_assert_int_eq(fg_receipt_qr_verify("a.b.c.d", 7, k, &c, err, sizeof(err)), FG_EINVALID);
    ck_assert_int_eq(fg_receipt_qr_verify("..", 2, k, &c, err, sizeof(err)), FG_EINVALID);
    fg_buf_free(&jws);
    fg_buf_free(&bad);
    fg_receipt_keys_free(k);
}
END_TEST

START_TEST(qr_rotation_keeps_old_payloads)
{
    fg_receipt_keys_t *old = keys(NULL, NULL, in_dir("qr-old.key"), NULL);
    fg_receipt_t r;
    fg_buf_t jws = FG_BUF_INIT;
    char err[512] = "";
    fg_receipt_claims_t c;
    receipt(&r);
    ck_assert_int_eq(fg_receipt_qr_payload(old, &r, &jws, err, sizeof(err)), 0);
    /* rotated: qr.key signs, the old public key stays published */
    char published[600];
    snprintf(published, sizeof(published), "%s, %s", in_dir("qr-old.pub"), in_dir("rsa.pem"));
    fg_receipt_keys_t *now = keys(NULL, NULL, in_dir("qr.key"), published);
    ck_assert_str_ne(fg_receipt_keys_qr_kid(now), fg_receipt_keys_qr_kid(old));
    ck_assert_int_eq(fg_receipt_qr_verify(jws.data, jws.len, now, &c, err, sizeof(err)), 0);
    ck_assert_str_eq(c.kid, fg_receipt_keys_qr_kid(old));
    ck_assert_int_eq(python_verify(in_dir("qr-old.pub"), jws.data, r.payer_ref), 0);
    /* the JWK set lists both QR keys and the published certificate */
    fg_buf_t jwks = FG_BUF_INIT;
    fg_receipt_jwks_json(&jwks, now);
    ck_assert_ptr_nonnull(strstr(jwks.data, fg_receipt_keys_qr_kid(now)));
    ck_assert_ptr_nonnull(strstr(jwks.data, fg_receipt_keys_qr_kid(old)));
    ck_assert_ptr_nonnull(strstr(jwks.data, "\"alg\":\"ES256\""));
    ck_assert_ptr_nonnull(strstr(jwks.data, "\"kty\":\"RSA\""));
    ck_assert_ptr_nonnull(strstr(jwks.data, "\"x5c\":[\"MII"));
    ck_assert_ptr_null(strstr(jwks.data, "\"d\""));
    ck_assert_int_eq(strncmp(jwks.data, "{\"keys\":[{", 10), 0);
    fg_buf_free(&jwks);
    /* unpublished: refused, naming the key */
    fg_receipt_keys_t *gone = keys(NULL, NULL, in_dir("qr.key"), NULL);
    ck_assert_int_eq(fg_receipt_qr_verify(jws.data, jws.len, gone, &c, err, sizeof(err)), FG_EINVALID);
    ck_assert_msg(strstr(err, fg_receipt_keys_qr_kid(old)) != NULL, "%s", err);
    fg_buf_free(&jws);
    fg_receipt_keys_free(old);
    fg_receipt_keys_free(now);
    fg_receipt_keys_free(gone);
}
END_TEST

/* ---- threads ------------------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 12

typedef struct {
    const fg_receipt_keys_t *keys;
    int base, failures;
} worker_t;

/* Signs and verifies receipts of its own, sharing the key set with the others. */
static void *sign_many(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        fg_receipt_t r;
        fg_buf_t xml = FG_BUF_INIT, doc = FG_BUF_INIT, jws = FG_BUF_INIT;
        fg_receipt_xml_info_t info;
        fg_receipt_claims_t c;
        char err[512], number[16];
        receipt(&r);
        r.number = w->base + i;
        snprintf(number, sizeof(number), "%07d", w->base + i);
        int ok = fg_receipt_xml(&r, WORDS, &xml) == 0 &&
                 fg_receipt_sign_xml(w->keys, xml.data, xml.len, &doc, err, sizeof(err)) == 0 &&
                 fg_receipt_verify_xml(w->keys, doc.data, doc.len, &info, err, sizeof(err)) == 0 &&
                 strcmp(info.number, number) == 0 && fg_receipt_qr_payload(w->keys, &r, &jws, err, sizeof(err)) == 0 &&
                 fg_receipt_qr_verify(jws.data, jws.len, w->keys, &c, err, sizeof(err)) == 0 && c.number == r.number;
        w->failures += !ok;
        fg_buf_free(&xml);
        fg_buf_free(&doc);
        fg_buf_free(&jws);
    }
    return NULL;
}

START_TEST(signing_from_several_threads)
{
    fg_receipt_keys_t *k = keys(in_dir("ec.key"), in_dir("ec.pem"), in_dir("qr.key"), NULL);
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker_t){k, 1 + i * ROUNDS, 0};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, sign_many, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(workers[i].failures, 0);
    }
    fg_receipt_keys_free(k);
}
END_TEST

/* ---- key files ------------------------------------------------------------------------------ */

static void refused(const char *sign_key, const char *cert, const char *qr, const char *published, const char *want)
{
    fg_receipt_key_files_t files = {sign_key, cert, qr, published};
    fg_receipt_keys_t *k = NULL;
    char err[512] = "";
    ck_assert_int_ne(fg_receipt_keys_load(&files, &k, err, sizeof(err)), 0);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(err, want) != NULL, "wanted %s in: %s", want, err);
}

START_TEST(key_files_refused)
{
    refused(in_dir("rsa.key"), NULL, NULL, NULL, "receipts.certificate_file: needed");
    refused(in_dir("rsa.key"), in_dir("ec.pem"), NULL, NULL, "not the certificate of receipts.signing_key_file");
    refused(in_dir("rsa.pem"), in_dir("rsa.pem"), NULL, NULL, "receipts.signing_key_file");
    refused(in_dir("missing.key"), in_dir("rsa.pem"), NULL, NULL, "cannot read");
    refused(NULL, NULL, in_dir("rsa.key"), NULL, "receipts.qr_key_file");
    refused(NULL, NULL, in_dir("p384.key"), NULL, "P-256");
    refused(NULL, NULL, in_dir("qr-old.pub"), NULL, "private key");
    refused(NULL, NULL, NULL, in_dir("p384.key"), "receipts.published_key_files");
    /* nothing configured: an empty set that signs nothing */
    fg_receipt_keys_t *k = keys(NULL, NULL, NULL, "");
    fg_receipt_t r;
    fg_buf_t out = FG_BUF_INIT;
    char err[200];
    receipt(&r);
    ck_assert_ptr_null(fg_receipt_keys_signing_kid(k));
    ck_assert_int_eq(fg_receipt_sign_xml(k, "<HDon/>", 7, &out, err, sizeof(err)), FG_EUNAVAILABLE);
    ck_assert_int_eq(fg_receipt_qr_payload(k, &r, &out, err, sizeof(err)), FG_EUNAVAILABLE);
    fg_buf_free(&out);
    fg_receipt_keys_free(k);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("receipt_sign");
    TCase *tc = tcase_create("receipt_sign");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, xml_document_shape);
    tcase_add_test(tc, xml_adjustment_and_refusals);
    tcase_add_test(tc, xmldsig_rsa_sha256_verifies_with_xmlsec1);
    tcase_add_test(tc, xmldsig_ecdsa_sha256_verifies_with_xmlsec1);
    tcase_add_test(tc, xmldsig_tampering_fails);
    tcase_add_test(tc, xmldsig_rotation_keeps_old_receipts);
    tcase_add_test(tc, qr_payload_verified_by_python);
    tcase_add_test(tc, qr_payload_tampering_fails);
    tcase_add_test(tc, qr_rotation_keeps_old_payloads);
    tcase_add_test(tc, signing_from_several_threads);
    tcase_add_test(tc, key_files_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (make_keys() != 0) {
        fprintf(stderr, "test_receipt_sign: cannot make the test keys with openssl\n");
        return EXIT_FAILURE;
    }
    fg_receipt_xml_init();
    SRunner *sr = srunner_create(suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    fg_receipt_xml_cleanup();
    run("rm -rf %s", dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
