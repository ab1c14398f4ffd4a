/*
 * test_receipt_verify.c - `feegate receipt verify PAYLOAD|FILE` with the keys
 * of the config (FEEGATE_RECEIPTS_*), no network: a QR payload given on the
 * command line or in a file, a signed receipt XML file; exit 0 and what it
 * says as JSON, exit 1 and one line saying why for anything tampered with,
 * signed by a key no longer published, or not a receipt, exit 2 for a key
 * file that cannot be used.  Then GET /.well-known/feegate-receipt-keys on
 * the server: public, cacheable, the current and published keys.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "receipts/keys.h"
#include "receipts/qr_payload.h"
#include "receipts/sign.h"
#include "receipts/xml.h"

static char dir[64];
static char env_sign[300], env_cert[300], env_qr[300], env_published[700];

static void sh(const char *cmd)
{
    int status = system(cmd);
    ck_assert_msg(status == 0, "%s failed", cmd);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    char cmd[2048];
    snprintf(dir, sizeof(dir), "/tmp/fg-rverify-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout sign.key -out sign.pem -days 30 "
             "-subj '/CN=feegate receipts test' 2>/dev/null && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout old.key -out old.pem -days 30 "
             "-subj '/CN=feegate receipts test, old' 2>/dev/null && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out qr.key && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out qr-old.key && "
             "openssl pkey -in qr-old.key -pubout -out qr-old.pub",
             dir);
    sh(cmd);
    snprintf(env_sign, sizeof(env_sign), "FEEGATE_RECEIPTS_SIGNING_KEY_FILE=%s/sign.key", dir);
    snprintf(env_cert, sizeof(env_cert), "FEEGATE_RECEIPTS_CERTIFICATE_FILE=%s/sign.pem", dir);
    snprintf(env_qr, sizeof(env_qr), "FEEGATE_RECEIPTS_QR_KEY_FILE=%s/qr.key", dir);
    snprintf(env_published, sizeof(env_published), "FEEGATE_RECEIPTS_PUBLISHED_KEY_FILES=%s/old.pem,%s/qr-old.pub", dir,
             dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    sh(cmd);
}

static void receipt(fg_receipt_t *r)
{
    memset(r, 0, sizeof(*r));
    strcpy(r->id, "rct_01JVERIFY000000000000000");
    strcpy(r->merchant_id, "mer_01JVERIFY000000000000000");
    strcpy(r->form, "01BLP0-001");
    strcpy(r->serial, "AB-26E");
    r->number = 42;
    strcpy(r->unit_name, "Phường Bến Nghé");
    strcpy(r->unit_tax_code, "0301234567");
    strcpy(r->unit_address, "Quận 1, TP. Hồ Chí Minh");
    strcpy(r->payer_name, "Trần Thị B");
    strcpy(r->payer_ref, "HS-0042");
    strcpy(r->fee_type, "administrative");
    strcpy(r->description, "Lệ phí chứng thực");
    r->amount = 25000;
    strcpy(r->currency, "VND");
    strcpy(r->method, "momo");
    r->paid_at_ms = 1796387400000LL;
    r->issued_at_ms = 1796387401000LL;
}

/* Keys loaded in this process from files in dir. */
static fg_receipt_keys_t *keys(const char *sign, const char *cert, const char *qr)
{
    char a[200], b[200], c[200];
    snprintf(a, sizeof(a), "%s/%s", dir, sign);
    snprintf(b, sizeof(b), "%s/%s", dir, cert);
    snprintf(c, sizeof(c), "%s/%s", dir, qr);
    fg_receipt_key_files_t files = {a, b, c, NULL};
    fg_receipt_keys_t *k = NULL;
    char err[512];
    ck_assert_msg(fg_receipt_keys_load(&files, &k, err, sizeof(err)) == 0, "%s", err);
    return k;
}

/* `feegate receipt verify arg` with the env; stdout and stderr captured. */
static int verify(const char *arg, const char *const *env, char *out, char *err)
{
    const char *args[] = {"receipt", "verify", arg, NULL};
    return fgt_cli_run(args, env, NULL, out, 4096, err, 4096);
}

START_TEST(cli_verifies_xml_and_payloads)
{
    static char out[4096], err[4096];
    const char *env[] = {env_sign, env_cert, env_qr, env_published, NULL};
    fg_receipt_t r;
    receipt(&r);
    fg_receipt_keys_t *k = keys("sign.key", "sign.pem", "qr.key");
    fg_buf_t xml = FG_BUF_INIT, doc = FG_BUF_INIT, jws = FG_BUF_INIT;
    char why[512];
    ck_assert_int_eq(fg_receipt_xml(&r, "Hai mươi lăm nghìn đồng", &xml), 0);
    ck_assert_int_eq(fg_receipt_sign_xml(k, xml.data, xml.len, &doc, why, sizeof(why)), 0);
    ck_assert_int_eq(fg_receipt_qr_payload(k, &r, &jws, why, sizeof(why)), 0);
    char file[128], tampered[128], payload_file[128];
    snprintf(file, sizeof(file), "%s/receipt.xml", dir);
    snprintf(tampered, sizeof(tampered), "%s/tampered.xml", dir);
    snprintf(payload_file, sizeof(payload_file), "%s/payload.txt", dir);
    write_file(file, doc.data, doc.len);

    /* the signed XML */
    ck_assert_int_eq(verify(file, env, out, err), 0);
    ck_assert_msg(strstr(out, "\"valid\":true") && strstr(out, "\"number\":\"0000042\"") &&
                      strstr(out, "\"amount\":\"25000\""),
                  "%s", out);
    /* an amount changed: exit 1 with one line */
    char *at = strstr(doc.data, "<TgTTTBSo>25000<");
    ck_assert_ptr_nonnull(at);
    memcpy(at + strlen("<TgTTTBSo>"), "95000", 5);
    write_file(tampered, doc.data, doc.len);
    ck_assert_int_eq(verify(tampered, env, out, err), 1);
    ck_assert_msg(strstr(err, "changed after it was signed") != NULL, "%s", err);
    ck_assert_ptr_eq(strchr(err, '\n'), err + strlen(err) - 1);
    ck_assert_str_eq(out, "");

    /* the QR payload, on the command line and in a file */
    ck_assert_int_eq(verify(jws.data, env, out, err), 0);
    ck_assert_msg(strstr(out, "\"num\":42") && strstr(out, "\"amt\":25000") && strstr(out, "\"cur\":\"VND\""), "%s",
                  out);
    write_file(payload_file, jws.data, jws.len);
    ck_assert_int_eq(verify(payload_file, env, out, err), 0);
    /* one character of the signature changed */
    jws.data[jws.len - 3] = jws.data[jws.len - 3] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(jws.data, env, out, err), 1);
    ck_assert_msg(strstr(err, "feegate: receipt verify: ") == err, "%s", err);
    /* not a receipt at all */
    ck_assert_int_eq(verify("/nonexistent/receipt.xml", env, out, err), 1);
    ck_assert_ptr_nonnull(strstr(err, "no such file"));
    ck_assert_int_eq(verify("a.b", env, out, err), 1);
    /* a file whose reading fails (a regular file; reading it at offset 0
     * is EIO) is said to be unreadable, not judged by what was read */
    ck_assert_int_eq(verify("/proc/self/mem", env, out, err), 1);
    ck_assert_msg(strstr(err, "/proc/self/mem: cannot read the file") != NULL, "%s", err);

    /* a key file that cannot be used stops the command (exit 2) */
    char bad_env[300];
    snprintf(bad_env, sizeof(bad_env), "FEEGATE_RECEIPTS_QR_KEY_FILE=%s/sign.pem", dir);
    const char *broken[] = {env_sign, env_cert, bad_env, NULL};
    ck_assert_int_eq(verify(file, broken, out, err), 2);
    ck_assert_ptr_nonnull(strstr(err, "receipts.qr_key_file"));
    fg_buf_free(&xml);
    fg_buf_free(&doc);
    fg_buf_free(&jws);
    fg_receipt_keys_free(k);
}
END_TEST

START_TEST(cli_rotation_keeps_old_receipts_while_published)
{
    static char out[4096], err[4096];
    const char *published[] = {env_sign, env_cert, env_qr, env_published, NULL};
    const char *unpublished[] = {env_sign, env_cert, env_qr, NULL};
    fg_receipt_t r;
    receipt(&r);
    /* signed before the rotation, with the old keys */
    fg_receipt_keys_t *old = keys("old.key", "old.pem", "qr-old.key");
    fg_buf_t xml = FG_BUF_INIT, doc = FG_BUF_INIT, jws = FG_BUF_INIT;
    char why[512], file[128];
    ck_assert_int_eq(fg_receipt_xml(&r, "Hai mươi lăm nghìn đồng", &xml), 0);
    ck_assert_int_eq(fg_receipt_sign_xml(old, xml.data, xml.len, &doc, why, sizeof(why)), 0);
    ck_assert_int_eq(fg_receipt_qr_payload(old, &r, &jws, why, sizeof(why)), 0);
    snprintf(file, sizeof(file), "%s/old.xml", dir);
    write_file(file, doc.data, doc.len);
    ck_assert_int_eq(verify(file, published, out, err), 0);
    ck_assert_ptr_nonnull(strstr(out, fg_receipt_keys_signing_kid(old)));
    ck_assert_int_eq(verify(jws.data, published, out, err), 0);
    ck_assert_ptr_nonnull(strstr(out, fg_receipt_keys_qr_kid(old)));
    /* no longer published: refused, naming the key */
    ck_assert_int_eq(verify(file, unpublished, out, err), 1);
    ck_assert_ptr_nonnull(strstr(err, fg_receipt_keys_signing_kid(old)));
    ck_assert_int_eq(verify(jws.data, unpublished, out, err), 1);
    ck_assert_ptr_nonnull(strstr(err, fg_receipt_keys_qr_kid(old)));
    fg_buf_free(&xml);
    fg_buf_free(&doc);
    fg_buf_free(&jws);
    fg_receipt_keys_free(old);
}
END_TEST

START_TEST(jwks_route_is_public_and_lists_published_keys)
{
    const char *env[] = {env_sign, env_cert, env_qr, env_published, NULL};
    fgt_server_t s;
    fgt_server_start(&s, env);
    fg_receipt_keys_t *now = keys("sign.key", "sign.pem", "qr.key");
    fg_receipt_keys_t *old = keys("old.key", "old.pem", "qr-old.key");
    fgt_response_t r = fgt_req(&s, FGT_HTTP1, "GET", "/.well-known/feegate-receipt-keys", NULL, NULL, NULL, 0, NULL);
    fgt_expect(r, 200, NULL);
    ck_assert_str_eq(fgt_header(&r, "cache-control"), "public, max-age=3600");
    yajl_val list = fgt_json_array(&r, "keys", NULL);
    ck_assert_int_eq((int)list->u.array.len, 4); /* two QR keys, two certificates */
    ck_assert_str_eq(fgt_val_str(list->u.array.values[0], "kid", NULL), fg_receipt_keys_qr_kid(now));
    ck_assert_str_eq(fgt_val_str(list->u.array.values[0], "alg", NULL), "ES256");
    ck_assert_str_eq(fgt_val_str(list->u.array.values[1], "kid", NULL), fg_receipt_keys_qr_kid(old));
    ck_assert_str_eq(fgt_val_str(list->u.array.values[2], "kid", NULL), fg_receipt_keys_signing_kid(now));
    ck_assert_str_eq(fgt_val_str(list->u.array.values[3], "kid", NULL), fg_receipt_keys_signing_kid(old));
    ck_assert_ptr_null(strstr(r.body, "\"d\""));
    fgt_response_free(&r);
    fg_receipt_keys_free(now);
    fg_receipt_keys_free(old);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

/* The environment of a server with this suite's receipt keys and a sandbox secret. */
#define SANDBOX_SECRET "receipt-verify-sandbox"
static const char *const *receipt_env(void)
{
    static const char *env[6];
    env[0] = env_sign, env[1] = env_cert, env[2] = env_qr, env[3] = env_published;
    env[4] = "FEEGATE_SANDBOX_SECRET=" SANDBOX_SECRET, env[5] = NULL;
    return env;
}

/* Starts s for a new merchant m (named name) and pays a bill of 4,500,000
 * through the sandbox: the bill's code, the payment and its receipt into the
 * outputs (64 bytes each). */
static void paid_bill(fgt_server_t *s, fgt_merchant_t *m, const char *name, char *code, char *pay, char *receipt_id)
{
    char path[160], note[300], header[200];
    fgt_merchant_create(name, m->id, m->key);
    fgt_server_start(s, receipt_env());
    fgt_response_t r = fgt_order_create(s, FGT_HTTP1, m->key, NULL, fgt_unique("BL"), 4500000, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(code, 64, "%s", fgt_json_str(&r, "code", NULL));
    snprintf(path, sizeof(path), "/v1/orders/%s/payments", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    r = fgt_req(s, FGT_HTTP1, "POST", path, m->key, NULL, "{\"method\":\"sandbox\"}", 0, NULL);
    fgt_expect(r, 201, NULL);
    snprintf(pay, 64, "%s", fgt_json_str(&r, "id", NULL));
    fgt_response_free(&r);
    snprintf(note, sizeof(note),
             "{\"payment_id\":\"%s\",\"provider_txn_id\":\"%s\",\"status\":\"succeeded\",\"amount\":4500000}", pay,
             fgt_unique("TX"));
    fgt_sandbox_signature(SANDBOX_SECRET, note, header, sizeof(header));
    const char *headers[] = {header, NULL};
    r = fgt_request(s, FGT_HTTP1, "POST", "/v1/webhooks/sandbox", headers, note, strlen(note));
    ck_assert_int_eq(r.status, 200);
    fgt_response_free(&r);
    snprintf(path, sizeof(path), "/v1/payments/%s", pay);
    r = fgt_req(s, FGT_HTTP1, "GET", path, m->key, NULL, NULL, 0, NULL);
    ck_assert_ptr_nonnull(fgt_json_str(&r, "receipt_id", NULL));
    snprintf(receipt_id, 64, "%s", fgt_json_str(&r, "receipt_id", NULL));
    fgt_response_free(&r);
}

/* A signed receipt document as file name in dir: the stock xmlsec1 command
 * and feegate receipt verify accept it; with the character at needle + at
 * changed to c, both refuse it. */
static void signed_and_tamper_evident(const char *xml, const char *name, const char *needle, size_t at, char c)
{
    char file[128], cmd[512], out[4096], err[4096];
    snprintf(file, sizeof(file), "%s/%s", dir, name);
    write_file(file, xml, strlen(xml));
    snprintf(cmd, sizeof(cmd), "xmlsec1 --verify --pubkey-cert-pem %s/sign.pem %s >/dev/null 2>&1", dir, file);
    ck_assert_msg(system(cmd) == 0, "xmlsec1 refused %s", name);
    ck_assert_int_eq(verify(file, receipt_env(), out, err), 0);
    char *forged = strdup(xml), *hit = strstr(forged, needle);
    ck_assert_ptr_nonnull(hit);
    hit[at] = c;
    write_file(file, forged, strlen(forged));
    free(forged);
    ck_assert_msg(system(cmd) != 0, "xmlsec1 accepted a changed %s", name);
    ck_assert_int_eq(verify(file, receipt_env(), out, err), 1);
}

/* A paid bill's receipt, as the API serves it signed: the stock xmlsec1
 * command and feegate receipt verify both accept it; a changed amount fails
 * both. */
START_TEST(a_paid_bills_receipt_xml_verifies_with_xmlsec1)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char path[160], pay[64], receipt_id[64], code[64];
    paid_bill(&s, &m, "Trường Tiểu học Biên Lai", code, pay, receipt_id);
    snprintf(path, sizeof(path), "/v1/receipts/%s.xml", receipt_id);
    for (int p = 0; p < FGT_PROTOS; p++) {
        fgt_response_t r = fgt_req(&s, (fgt_proto_t)p, "GET", path, m.key, NULL, NULL, 0, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(fgt_header(&r, "content-type"), "application/xml"));
        ck_assert_ptr_nonnull(strstr(r.body, "Bốn triệu năm trăm nghìn đồng"));
        /* the amount changed: both refuse it */
        char name[32];
        snprintf(name, sizeof(name), "api-%d.xml", p);
        signed_and_tamper_evident(r.body, name, "4500000", 0, '9');
        fgt_response_free(&r);
    }
    /* the payer's receipt page carries the signed QR payload; the CLI checks it offline */
    snprintf(path, sizeof(path), "/pay/%s/receipt?payment=%s", code, pay);
    fgt_response_t r = fgt_req(&s, FGT_HTTP1, "GET", path, NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    const char *qr = strstr(r.body, "data-receipt-qr=\"");
    ck_assert_msg(qr != NULL, "no QR on the receipt page");
    qr += strlen("data-receipt-qr=\"");
    char payload[2048], out[4096], err[4096];
    size_t n = strcspn(qr, "\"");
    ck_assert_uint_lt(n, sizeof(payload));
    memcpy(payload, qr, n);
    payload[n] = '\0';
    ck_assert_ptr_nonnull(strstr(r.body, "<svg"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-verify-link"));
    fgt_response_free(&r);
    ck_assert_int_eq(verify(payload, receipt_env(), out, err), 0);
    ck_assert_ptr_nonnull(strstr(out, "4500000"));
    /* the public /verify page says the same in the browser, and what the register knows now */
    r = fgt_req(&s, FGT_HTTP1, "GET", "/verify", NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"form\""));
    fgt_response_free(&r);
    char vpath[2300];
    snprintf(vpath, sizeof(vpath), "/verify?p=%s&ref=NOT-THE-PAYER", payload);
    r = fgt_req(&s, FGT_HTTP1, "GET", vpath, NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"valid\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-amount=\"4500000\""));
    ck_assert_ptr_nonnull(strstr(r.body, "data-register=\"issued\""));
    ck_assert_ptr_nonnull(strstr(r.body, "Trường Tiểu học Biên Lai"));
    ck_assert_ptr_nonnull(strstr(r.body, "data-payer-match=\"no\""));
    fgt_response_free(&r);
    /* one character of the claims changed: not valid */
    char *dot = strchr(payload, '.');
    ck_assert_ptr_nonnull(dot);
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    snprintf(vpath, sizeof(vpath), "/verify?p=%s", payload);
    r = fgt_req(&s, FGT_HTTP1, "GET", vpath, NULL, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "data-status=\"invalid\""));
    ck_assert_ptr_null(strstr(r.body, "data-amount=\"4500000\""));
    /* the verifier's reason, in English, is said to be a technical detail and marked as English */
    ck_assert_msg(strstr(r.body, "Chi tiết kỹ thuật (tiếng Anh): <span lang=\"en\" data-why>") != NULL, "%s", r.body);
    fgt_response_free(&r);
    /* another merchant's key: no such receipt */
    snprintf(path, sizeof(path), "/v1/receipts/%s.xml", receipt_id);
    fgt_merchant_t other;
    fgt_merchant_create("Trường Khác", other.id, other.key);
    r = fgt_req(&s, FGT_HTTP1, "GET", path, other.key, NULL, NULL, 0, NULL);
    fgt_expect(r, 404, "receipt_not_found");
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

/* A refund's adjustment receipt is a signed document too: TCHDon 2 naming the
 * original, the negative amount, its words without the sign. */
START_TEST(a_refunds_adjustment_xml_verifies_with_xmlsec1)
{
    fgt_server_t s;
    fgt_merchant_t m;
    char path[160], pay[64], code[64], original[64], adjustment[64];
    paid_bill(&s, &m, "Trường Tiểu học Hoàn Tiền", code, pay, original);
    snprintf(path, sizeof(path), "/v1/payments/%s/refunds", pay);
    fgt_response_t r = fgt_req(&s, FGT_HTTP1, "POST", path, m.key, fgt_unique("rf"), "{\"amount\":500000}", 0, NULL);
    fgt_expect(r, 201, NULL);
    ck_assert_str_eq(fgt_json_str(&r, "status", NULL), "succeeded");
    ck_assert_ptr_nonnull(fgt_json_str(&r, "receipt_id", NULL));
    snprintf(adjustment, sizeof(adjustment), "%s", fgt_json_str(&r, "receipt_id", NULL));
    fgt_response_free(&r);

    snprintf(path, sizeof(path), "/v1/receipts/%s.xml", adjustment);
    r = fgt_req(&s, FGT_HTTP1, "GET", path, m.key, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    char related[128];
    snprintf(related, sizeof(related), "<GChu>%s</GChu>", original);
    ck_assert_ptr_nonnull(strstr(r.body, "<TCHDon>2</TCHDon>"));
    ck_assert_ptr_nonnull(strstr(r.body, related));
    ck_assert_ptr_nonnull(strstr(r.body, "<TgTTTBSo>-500000</TgTTTBSo>"));
    ck_assert_ptr_nonnull(strstr(r.body, "<TgTTTBChu>Năm trăm nghìn đồng</TgTTTBChu>"));
    /* the adjustment made smaller: both refuse it */
    signed_and_tamper_evident(r.body, "adjustment.xml", "-500000", 1, '1');
    fgt_response_free(&r);
    ck_assert_int_eq(fgt_server_stop(&s), 0);
}
END_TEST

int main(void)
{
    fg_receipt_xml_init();
    Suite *suite = suite_create("receipt_verify");
    TCase *tc = fgt_tcase(suite, "receipt_verify", setup, teardown);
    tcase_add_test(tc, cli_verifies_xml_and_payloads);
    tcase_add_test(tc, cli_rotation_keeps_old_receipts_while_published);
    tcase_add_test(tc, jwks_route_is_public_and_lists_published_keys);
    tcase_add_test(tc, a_paid_bills_receipt_xml_verifies_with_xmlsec1);
    tcase_add_test(tc, a_refunds_adjustment_xml_verifies_with_xmlsec1);
    int rc = fgt_run(suite);
    fg_receipt_xml_cleanup();
    return rc;
}
