/*
 * xml.h - an e-receipt as XML, shaped after Vietnam's e-invoice and
 * e-receipt documents (Decree 123/2020/ND-CP, Circular 78/2021/TT-BTC):
 *
 *   HDon
 *     DLHDon                 the receipt's data (everything the signature covers)
 *       TTChung              general information: PBan, THDon, KHMSHDon (form),
 *                            KHHDon (serial), SHDon (number, 7 digits), NLap (date,
 *                            GMT+7), DVTTe (currency), HTTToan (how it was paid),
 *                            TTHDLQuan (the related receipt of an adjustment or a
 *                            replacement: TCHDon 1 or 2), TTKhac (feegate's ids,
 *                            the provider reference and the times)
 *       NDHDon
 *         NBan               the collecting unit: Ten, MST, DChi
 *         NMua               the payer: Ten, MKHang (the payer's reference)
 *         DSHHDVu/HHDVu      the one item: the fee, one unit of the amount
 *         TToan              TgTTTBSo (total in figures), TgTTTBChu (in words)
 *     DSCKS
 *       NBan                 the collecting unit's signature (sign.h puts it there)
 */
#ifndef FG_RECEIPTS_XML_H
#define FG_RECEIPTS_XML_H

#include "core/buf.h"
#include "core/error.h"
#include "receipts/receipt.h"

/* The longest amount in words accepted (bytes of UTF-8). */
#define FG_RECEIPT_WORDS_MAX 1024

/** Writes r as an unsigned receipt document (UTF-8, with its XML
 *  declaration) into out, built and escaped by libxml2.  amount_words is the
 *  total in Vietnamese words ("Bốn triệu năm trăm nghìn đồng").  0, or
 *  FG_EINVALID when a field is out of range (number, amount, currency) or a
 *  text is not valid UTF-8 or holds a character XML cannot carry (out is
 *  then untouched). */
int fg_receipt_xml(const fg_receipt_t *r, const char *amount_words, fg_buf_t *out) FG_MUST_USE;

#endif
