/*
 * rollup_sql.h - the collections of a set of journals, as SQL shared by the
 * rollup job (rollup.c: added to report_daily) and by a report (collections.c:
 * the journals above the watermark, read from the ledger).  Static text only.
 *
 * The set: journals whose first ledger entry has an id in (lo, hi].  Every
 * journal has exactly one first entry, so consecutive ranges never count a
 * journal twice or miss one, however its entries' ids interleave with other
 * transactions'.  Parameters: lo, hi, lo, hi.  Read as the entries in
 * (lo, hi] (a primary-key range) whose journal's first entry (one probe of
 * ix_entries_journal each) is above lo, then their journals: the cost follows
 * the range, not the size of the ledger (the form before, a GROUP BY over
 * every entry of the journals named, was planned as scans of whole tables
 * and ran for seconds in a transaction that held the settle points back).
 */
#ifndef FG_REPORTS_ROLLUP_SQL_H
#define FG_REPORTS_ROLLUP_SQL_H

#define FG_ROLLUP_JOURNALS                                                                                             \
    "(SELECT DISTINCT e.journal_id FROM ledger_entries e WHERE e.id > ? AND e.id <= ? AND (SELECT MIN(x.id) FROM "     \
    "ledger_entries x WHERE x.journal_id = e.journal_id) > ? AND e.id <= ?) js STRAIGHT_JOIN journals j "              \
    "ON j.id = js.journal_id "

/* a time's business day (GMT+7) as yyyymmdd, whatever the session's time zone */
#define FG_ROLLUP_DAY(t)                                                                                               \
    "CAST(DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL FLOOR((" t " + 25200000) / 86400000) DAY), '%Y%m%d') AS INT)"

/* Each SELECT answers day, merchant id, fee type, category ('' for none),
 * adapter, currency (the payment's: an order's payments, refunds and fees
 * are all of its currency) and one measure, grouped; `extra` is a WHERE
 * clause's tail. */
#define FG_ROLLUP_PAYMENTS(extra)                                                                                                                                 \
    "SELECT " FG_ROLLUP_DAY(                                                                                                                                      \
        "j.created_at") " AS d, p.merchant_id AS mid, o.fee_type AS ft, "                                                                                         \
                        "COALESCE(o.category, '') AS cat, p.adapter AS ad, p.currency AS cur, COUNT(*) AS n, SUM(p.amount_applied) AS v FROM " FG_ROLLUP_JOURNALS \
                        "JOIN payments p ON p.id = j.payment_id JOIN orders o ON o.id = p.order_id "                                                              \
                        "WHERE j.kind = 'payment' AND p.amount_applied > 0 " extra " GROUP BY 1, 2, 3, 4, 5, 6"

/* what each refund took from the merchant: its journal's merchant entry */
#define FG_ROLLUP_REFUNDS(extra)                                                                                                           \
    "SELECT " FG_ROLLUP_DAY(                                                                                                               \
        "j.created_at") " AS d, p.merchant_id AS mid, o.fee_type AS ft, "                                                                  \
                        "COALESCE(o.category, '') AS cat, p.adapter AS ad, p.currency AS cur, SUM(e.amount) AS v FROM " FG_ROLLUP_JOURNALS \
                        "JOIN refunds f ON f.id = j.refund_id JOIN payments p ON p.id = f.payment_id JOIN orders o ON o.id = p.order_id "  \
                        "JOIN ledger_entries e ON e.journal_id = j.id "                                                                    \
                        "JOIN ledger_accounts a ON a.id = e.account_id AND a.merchant_id = p.merchant_id "                                 \
                        "WHERE j.kind = 'refund' " extra " GROUP BY 1, 2, 3, 4, 5, 6"

/* A journal's first ledger entry (what places it in a range). */
#define FG_ROLLUP_FIRST(journal) "(SELECT MIN(x.id) FROM ledger_entries x WHERE x.journal_id = " journal ")"

/* A settlement's fees, each on its payment's day and group, counted with
 * whichever of the two journals (the settlement's, the payment's) has the
 * later first entry: the settlement's when the payment was posted before it
 * (FG_ROLLUP_FEES), the payment's when the gateway settled a transaction
 * whose notification came late (FG_ROLLUP_FEES_LATE).  Counted with the
 * settlement alone, a fee whose payment was posted afterwards was never
 * counted; with either, once. */
#define FG_ROLLUP_FEES(extra)                                                                                                            \
    "SELECT " FG_ROLLUP_DAY(                                                                                                             \
        "pj.created_at") " AS d, p.merchant_id AS mid, o.fee_type AS ft, "                                                               \
                         "COALESCE(o.category, '') AS cat, p.adapter AS ad, p.currency AS cur, SUM(r.fee) AS v FROM " FG_ROLLUP_JOURNALS \
                         "JOIN settlement_batches b ON b.journal_id = j.id "                                                             \
                         "JOIN settlement_rows r ON r.batch_id = b.id AND r.kind = 'payment' "                                           \
                         "JOIN payments p ON p.adapter = b.gateway AND p.provider_txn_id = r.transaction_no "                            \
                         "JOIN journals pj ON pj.kind = 'payment' AND pj.payment_id = p.id JOIN orders o ON o.id = p.order_id "          \
                         "WHERE j.kind = 'settlement' AND p.amount_applied > 0 AND " FG_ROLLUP_FIRST(                                    \
                             "pj.id") " < " FG_ROLLUP_FIRST("j.id") " " extra " GROUP BY 1, 2, 3, 4, 5, 6"
#define FG_ROLLUP_FEES_LATE(extra)                                                                                                      \
    "SELECT " FG_ROLLUP_DAY(                                                                                                            \
        "j.created_at") " AS d, p.merchant_id AS mid, o.fee_type AS ft, "                                                               \
                        "COALESCE(o.category, '') AS cat, p.adapter AS ad, p.currency AS cur, SUM(r.fee) AS v FROM " FG_ROLLUP_JOURNALS \
                        "JOIN payments p ON p.id = j.payment_id JOIN orders o ON o.id = p.order_id "                                    \
                        "JOIN settlement_rows r ON r.transaction_no = p.provider_txn_id AND r.kind = 'payment' "                        \
                        "JOIN settlement_batches b ON b.id = r.batch_id AND b.gateway = p.adapter "                                     \
                        "WHERE j.kind = 'payment' AND p.amount_applied > 0 AND b.journal_id IS NOT NULL AND " FG_ROLLUP_FIRST(          \
                            "b.journal_id") " < " FG_ROLLUP_FIRST("j.id") " " extra " GROUP BY 1, 2, 3, 4, 5, 6"

#endif
