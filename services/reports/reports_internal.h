/*
 * reports_internal.h - grouping rows by the dimensions a report asks for
 * (group.c), shared by the reports.
 */
#ifndef FG_REPORTS_INTERNAL_H
#define FG_REPORTS_INTERNAL_H

#include "reports/reports.h"

#define FG_MEASURES_MAX 8

/* One fine row's dimension values; text NULL = null.  Borrowed. */
typedef struct {
    int32_t day; /* yyyymmdd */
    const char *merchant_id, *merchant_name, *fee_type, *category, *adapter;
    const char *currency; /* ISO 4217 code: every group is of one currency, whatever the grouping */
    const char *meta[FG_GROUP_META_MAX];
} fg_dimvals_t;

typedef struct fg_grouper fg_grouper_t;

/** A grouping by `by`, and always by currency: amounts of two currencies are
 *  never added.  only_currency ("" or NULL: every currency) keeps the rows of
 *  that currency and drops the others as they are added. */
fg_grouper_t *fg_grouper_new(const fg_group_by_t *by, int nmeasures, const char *only_currency);
void fg_grouper_free(fg_grouper_t *g);
/** Adds a fine row's measures to its group: 0, FG_EOVERFLOW, or FG_ETOOLONG
 *  past FG_TABLE_ROWS_MAX groups. */
int fg_grouper_add(fg_grouper_t *g, const fg_dimvals_t *v, const int64_t *measures);
/** Adds the group's key columns to t (before any row). */
void fg_group_columns(const fg_group_by_t *by, fg_table_t *t);
/** Number of groups; sorts them by their keys in group-by order first, then
 *  by currency (fg_currency_cmp). */
size_t fg_grouper_sort(fg_grouper_t *g);
/** Writes group i's keys into row (its first columns, as fg_group_columns
 *  added them), its currency into the table's currency column
 *  (currency_col, an index), and returns its measures. */
const int64_t *fg_grouper_emit(const fg_grouper_t *g, size_t i, fg_cell_t *row, int currency_col);

#endif
