/*
 * owed_sql.h - what an order counts for in the outstanding report's sums
 * (owed_totals and owed_changes, schema/0027), as SQL: an order counts while
 * it is open or partially paid and owes something, one order and
 * amount - amount_paid, under its merchant, fee type, category ('' for none),
 * due day (the GMT+7 business day of due_at as days since 1970-01-01,
 * FG_OWED_NO_DUE_DAY without one) and currency (schema/0039: amounts of two
 * currencies are never one sum).  p is the orders' table prefix, "" or
 * "o.".  The triggers of schema/0027 write the same expressions; `feegate
 * ledger check` holds the sums against the orders; the report and `feegate
 * reports rebuild` read them (reports/owed.c).
 */
#ifndef FG_LEDGER_OWED_SQL_H
#define FG_LEDGER_OWED_SQL_H

#define FG_OWED_NO_DUE_DAY INT32_MIN

#define FG_OWED_DUE_DAY(p) "CAST(COALESCE(FLOOR((" p "due_at + 25200000) / 86400000), -2147483648) AS SIGNED)"
#define FG_OWED_KEY(p)                                                                                                 \
    p "merchant_id, " p "fee_type, COALESCE(" p "category, ''), " FG_OWED_DUE_DAY(p) ", " p "currency"
#define FG_OWED_COUNTS(p) p "status IN ('open', 'partially_paid') AND " p "amount > " p "amount_paid"

#endif
