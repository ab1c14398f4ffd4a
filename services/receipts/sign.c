/*
 * sign.c - XMLDSig over the receipt document through xmlsec1 (sign.h).
 *
 * Threads.  libxml2 is safe for threads that each work on their own
 * documents, provided xmlInitParser() ran once first, in the main thread,
 * before any other thread uses the library (libxml2's "Thread safety"
 * notes); its error handler and parser defaults are per thread.  xmlsec1
 * is likewise initialised once for the process (xmlSecInit,
 * xmlSecCryptoAppInit, xmlSecCryptoInit, in that order, after libxml2 and
 * libxslt) and shut down once, in reverse order, when no thread uses it any
 * more; its error callback is one for the whole process.  Between the two,
 * its contexts (xmlSecDSigCtx) are per operation and never shared, and the
 * only objects meant to be shared are keys managers, used read-only (the
 * xmlsec "keys manager" notes: shared read-only, or one per operation).
 * So: fg_receipt_xml_init() runs all of it under pthread_once, and main
 * calls it before starting any thread; each signature or verification has
 * its own context and document, and gets its own copy of the key
 * (xmlSecKeyDuplicate), the context destroying it; the loaded key set is
 * never written after loading.  No keys manager is used: the signing key is
 * given to the context, and a verification is given the one certificate
 * the signature names (KeyName), so no certificate found inside a document
 * is ever trusted.  xmlsec's error callback records the first error of the
 * calling thread in a thread-local buffer, which becomes the error line.
 * XSLT, which xmlsec1 can run as a transform, is refused twice: libxslt's
 * default security preferences forbid file and network access, and a
 * verification enables only the transforms a receipt uses.
 */
#include "receipts/sign.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxslt/security.h>
#include <libxslt/xslt.h>
#include <xmlsec/app.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include "receipts/keys_internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_done;
static xsltSecurityPrefsPtr xslt_prefs;

/* The first xmlsec1 error of this thread's current operation. */
static __thread char first_error[200];

static void on_error(const char *file, int line, const char *func, const char *object, const char *subject, int reason,
                     const char *msg)
{
    (void)file;
    (void)line;
    (void)object;
    (void)reason;
    if (first_error[0] != '\0')
        return;
    snprintf(first_error, sizeof(first_error), "%s%s%s%s%s", func != NULL ? func : "", subject != NULL ? ": " : "",
             subject != NULL ? subject : "", msg != NULL && msg[0] != '\0' ? ": " : "", msg != NULL ? msg : "");
}

static void init(void)
{
    xmlInitParser();
    xslt_prefs = xsltNewSecurityPrefs();
    if (xslt_prefs != NULL) {
        xsltSetSecurityPrefs(xslt_prefs, XSLT_SECPREF_READ_FILE, xsltSecurityForbid);
        xsltSetSecurityPrefs(xslt_prefs, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid);
        xsltSetSecurityPrefs(xslt_prefs, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid);
        xsltSetSecurityPrefs(xslt_prefs, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid);
        xsltSetSecurityPrefs(xslt_prefs, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid);
        xsltSetDefaultSecurityPrefs(xslt_prefs);
    }
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0) {
        xmlSecShutdown();
        return;
    }
    if (xmlSecCryptoInit() < 0) {
        xmlSecCryptoAppShutdown();
        xmlSecShutdown();
        return;
    }
    /* last: the initialisations above install xmlsec's default callback, which prints to stderr */
    xmlSecErrorsSetCallback(on_error);
    init_done = 1;
}

void fg_receipt_xml_init(void) { pthread_once(&init_once, init); }

void fg_receipt_xml_cleanup(void)
{
    if (init_done) {
        xmlSecCryptoShutdown();
        xmlSecCryptoAppShutdown();
        xmlSecShutdown();
        init_done = 0;
    }
    if (xslt_prefs != NULL) {
        xsltSetDefaultSecurityPrefs(NULL);
        xsltFreeSecurityPrefs(xslt_prefs);
        xslt_prefs = NULL;
    }
    xsltCleanupGlobals();
    xmlCleanupParser();
}

static int fail(char *err, size_t cap, int rc, const char *what)
{
    if (first_error[0] != '\0')
        snprintf(err, cap, "%s (%s)", what, first_error);
    else
        snprintf(err, cap, "%s", what);
    return rc;
}

static int named(xmlNodePtr node, const char *name)
{
    return node != NULL && node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, BAD_CAST name);
}

/* The first element child of parent named name (no namespace), or NULL. */
static xmlNodePtr element(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent != NULL ? parent->children : NULL; n != NULL; n = n->next)
        if (named(n, name) && n->ns == NULL)
            return n;
    return NULL;
}

/* Parses a document that may not carry a DTD (no entities, nothing fetched). */
static xmlDocPtr parse(const char *xml, size_t len, char *err, size_t cap)
{
    if (len == 0 || len > FG_RECEIPT_XML_MAX) {
        snprintf(err, cap, "not a receipt document: %s", len == 0 ? "empty" : "larger than 1 MiB");
        return NULL;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        snprintf(err, cap, "not well-formed XML%s%s", e != NULL && e->message != NULL ? ": " : "",
                 e != NULL && e->message != NULL ? e->message : "\n");
        err[strcspn(err, "\n")] = '\0';
        return NULL;
    }
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        snprintf(err, cap, "not a receipt document: it declares a DTD");
        xmlFreeDoc(doc);
        return NULL;
    }
    if (!named(xmlDocGetRootElement(doc), "HDon") || xmlDocGetRootElement(doc)->ns != NULL ||
        element(xmlDocGetRootElement(doc), "DLHDon") == NULL) {
        snprintf(err, cap, "not a receipt document: no HDon/DLHDon");
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

/* A child of parent named name, made when missing. */
static xmlNodePtr ensure(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = element(parent, name);
    return n != NULL ? n : xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

int fg_receipt_sign_xml(const fg_receipt_keys_t *k, const char *xml, size_t len, fg_buf_t *signed_out, char *err,
                        size_t cap)
{
    fg_receipt_xml_init();
    first_error[0] = '\0';
    if (!init_done)
        return fail(err, cap, FG_EIO, "xmlsec1 could not be initialised");
    if (k->signing == NULL)
        return fail(err, cap, FG_EUNAVAILABLE, "no receipt signing key (receipts.signing_key_file)");
    xmlDocPtr doc = parse(xml, len, err, cap);
    if (doc == NULL)
        return FG_EINVALID;
    int rc = FG_EIO;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlChar *text = NULL;
    int text_len = 0;
    xmlNodePtr seller = ensure(ensure(xmlDocGetRootElement(doc), "DSCKS"), "NBan");
    if (xmlSecFindNode(xmlDocGetRootElement(doc), xmlSecNodeSignature, xmlSecDSigNs) != NULL) {
        rc = fail(err, cap, FG_EINVALID, "the document is signed already");
        goto Exit;
    }
    xmlSecTransformId method = xmlSecKeyDataCheckId(xmlSecKeyGetValue(k->signing), xmlSecKeyDataRsaId)
                                   ? xmlSecTransformRsaSha256Id
                                   : xmlSecTransformEcdsaSha256Id;
    xmlNodePtr signature = xmlSecTmplSignatureCreate(doc, xmlSecTransformInclC14NId, method, NULL);
    if (signature == NULL || xmlAddChild(seller, signature) == NULL) {
        xmlFreeNode(signature);
        rc = fail(err, cap, FG_EIO, "cannot build the signature template");
        goto Exit;
    }
    xmlNodePtr ref = xmlSecTmplSignatureAddReference(signature, xmlSecTransformSha256Id, NULL, BAD_CAST "", NULL);
    /* KeyInfo: the key's id first (what a verifier looks up), then the certificate */
    xmlNodePtr key_info = xmlSecTmplSignatureEnsureKeyInfo(signature, NULL);
    xmlNodePtr key_name = key_info != NULL ? xmlSecTmplKeyInfoAddKeyName(key_info, BAD_CAST k->certs[0].kid) : NULL;
    xmlNodePtr x509 = key_name != NULL ? xmlSecTmplKeyInfoAddX509Data(key_info) : NULL;
    if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL || x509 == NULL ||
        xmlSecTmplX509DataAddCertificate(x509) == NULL) {
        rc = fail(err, cap, FG_EIO, "cannot build the signature template");
        goto Exit;
    }
    if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL || (ctx->signKey = xmlSecKeyDuplicate(k->signing)) == NULL) {
        rc = fail(err, cap, FG_EIO, "out of memory for the signature");
        goto Exit;
    }
    if (xmlSecDSigCtxSign(ctx, signature) < 0) {
        rc = fail(err, cap, FG_EIO, "signing failed");
        goto Exit;
    }
    xmlDocDumpMemoryEnc(doc, &text, &text_len, "UTF-8");
    if (text == NULL || text_len <= 0) {
        rc = fail(err, cap, FG_EIO, "cannot write the signed document");
        goto Exit;
    }
    fg_buf_append(signed_out, text, (size_t)text_len);
    rc = 0;
Exit:
    xmlFree(text);
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return rc;
}

/* ---- verifying ------------------------------------------------------------------------------ */

static void text_of(xmlNodePtr node, char *out, size_t cap)
{
    xmlChar *content = node != NULL ? xmlNodeGetContent(node) : NULL;
    snprintf(out, cap, "%s", content != NULL ? (const char *)content : "");
    xmlFree(content);
}

static int restrict_transforms(xmlSecDSigCtxPtr ctx)
{
    /* SignedInfo: its canonicalization and the signature method */
    return xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) < 0 ||
                   /* the Reference: enveloped, canonicalized, SHA-256 */
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0
               ? -1
               : 0;
}

int fg_receipt_verify_xml(const fg_receipt_keys_t *k, const char *xml, size_t len, fg_receipt_xml_info_t *info,
                          char *err, size_t cap)
{
    fg_receipt_xml_init();
    first_error[0] = '\0';
    memset(info, 0, sizeof(*info));
    if (!init_done)
        return fail(err, cap, FG_EIO, "xmlsec1 could not be initialised");
    xmlDocPtr doc = parse(xml, len, err, cap);
    if (doc == NULL)
        return FG_EINVALID;
    int rc = FG_EINVALID;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr signature = xmlSecFindChild(element(element(root, "DSCKS"), "NBan"), xmlSecNodeSignature, xmlSecDSigNs);
    if (signature == NULL) {
        snprintf(err, cap, "no signature under DSCKS/NBan");
        goto Exit;
    }
    xmlNodePtr key_name = xmlSecFindNode(xmlSecFindChild(signature, xmlSecNodeKeyInfo, xmlSecDSigNs), xmlSecNodeKeyName,
                                         xmlSecDSigNs);
    text_of(key_name, info->kid, sizeof(info->kid));
    const fg_receipt_cert_t *cert = info->kid[0] != '\0' ? fg_receipt_keys_cert(k, info->kid) : NULL;
    if (cert == NULL) {
        snprintf(err, cap, "%s%s%s", info->kid[0] != '\0' ? "signed with key " : "the signature names no key (KeyName)",
                 info->kid, info->kid[0] != '\0' ? ", which is not among the configured certificates" : "");
        goto Exit;
    }
    if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL || (ctx->signKey = xmlSecKeyDuplicate(cert->key)) == NULL ||
        restrict_transforms(ctx) != 0) {
        rc = fail(err, cap, FG_EIO, "out of memory for the verification");
        goto Exit;
    }
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty; /* the whole document, nothing fetched */
    if (xmlSecDSigCtxVerify(ctx, signature) < 0) {
        rc = fail(err, cap, FG_EINVALID, "the signature cannot be checked");
        goto Exit;
    }
    if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) {
        snprintf(err, cap, "the signature must have exactly one reference (the whole document)");
        goto Exit;
    }
    if (ctx->status != xmlSecDSigStatusSucceeded) {
        xmlSecDSigReferenceCtxPtr ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
        snprintf(err, cap,
                 ref != NULL && ref->status != xmlSecDSigStatusSucceeded
                     ? "the document was changed after it was signed (its digest does not match)"
                     : "the signature does not verify with the certificate it names");
        goto Exit;
    }
    xmlNodePtr general = element(element(root, "DLHDon"), "TTChung");
    text_of(element(general, "KHMSHDon"), info->form, sizeof(info->form));
    text_of(element(general, "KHHDon"), info->serial, sizeof(info->serial));
    text_of(element(general, "SHDon"), info->number, sizeof(info->number));
    text_of(element(general, "DVTTe"), info->currency, sizeof(info->currency));
    text_of(element(element(element(element(root, "DLHDon"), "NDHDon"), "TToan"), "TgTTTBSo"), info->amount,
            sizeof(info->amount));
    rc = 0;
Exit:
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return rc;
}
