/*
 * group.c - group_by parsing and grouping (reports_internal.h).
 *
 * The database answers at the finest grain the report needs (one row per
 * business day, merchant, fee type, category, adapter, currency and
 * asked-for metadata values), already summed; the groups the caller asked
 * for are sums of those rows, made here in one hash table.  So one statement
 * per report serves any combination of dimensions, and the SQL stays a
 * static, prepared text.  The currency is part of every group's key, asked
 * for or not: a sum of dong and cents is no figure of anything.
 */
#define _GNU_SOURCE /* qsort_r */
#include "reports/reports_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/error.h"
#include "core/money.h"

static const char *const DIM_NAMES[] = {"day", "month", "merchant", "fee_type", "category", "adapter"};

int fg_group_by_parse(const char *s, size_t len, unsigned allowed, fg_group_by_t *out, char *msg, size_t msg_cap)
{
    memset(out, 0, sizeof(*out));
    size_t at = 0;
    while (s != NULL && at < len) {
        size_t end = at;
        while (end < len && s[end] != ',')
            end++;
        const char *name = s + at;
        size_t n = end - at;
        at = end + 1;
        if (n == 0)
            continue;
        fg_dim_t dim = {FG_DIM_DAY, 0};
        int known = 0;
        for (int k = 0; k < (int)(sizeof(DIM_NAMES) / sizeof(DIM_NAMES[0])); k++) {
            if (strlen(DIM_NAMES[k]) == n && memcmp(DIM_NAMES[k], name, n) == 0) {
                dim.kind = (fg_dim_kind_t)k;
                known = 1;
            }
        }
        if (!known && n > 9 && memcmp(name, "metadata.", 9) == 0) {
            const char *key = name + 9;
            size_t key_len = n - 9;
            if (key_len > FG_META_KEY_MAX) {
                snprintf(msg, msg_cap, "a metadata key has at most %d characters", FG_META_KEY_MAX);
                return -1;
            }
            for (size_t i = 0; i < key_len; i++) {
                char c = key[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-')) {
                    snprintf(msg, msg_cap, "a metadata key is letters, digits, '_' and '-'");
                    return -1;
                }
            }
            for (int m = 0; m < out->meta_count; m++) {
                if (strlen(out->meta_keys[m]) == key_len && memcmp(out->meta_keys[m], key, key_len) == 0) {
                    snprintf(msg, msg_cap, "group_by names metadata.%.*s twice", (int)key_len, key);
                    return -1;
                }
            }
            if (out->meta_count == FG_GROUP_META_MAX) {
                snprintf(msg, msg_cap, "group_by takes at most %d metadata keys", FG_GROUP_META_MAX);
                return -1;
            }
            memcpy(out->meta_keys[out->meta_count], key, key_len);
            out->meta_keys[out->meta_count][key_len] = '\0';
            dim.kind = FG_DIM_META;
            dim.meta = out->meta_count++;
            known = 1;
        }
        if (!known || !(allowed & (1u << dim.kind))) {
            snprintf(msg, msg_cap, "group_by cannot group by \"%.*s\"", (int)(n > 60 ? 60 : n), name);
            return -1;
        }
        for (int d = 0; d < out->count; d++) {
            if (dim.kind != FG_DIM_META && out->dims[d].kind == dim.kind) {
                snprintf(msg, msg_cap, "group_by names %s twice", DIM_NAMES[dim.kind]);
                return -1;
            }
        }
        if (out->count == FG_GROUP_DIMS_MAX) {
            snprintf(msg, msg_cap, "group_by takes at most %d dimensions", FG_GROUP_DIMS_MAX);
            return -1;
        }
        out->dims[out->count++] = dim;
    }
    return 0;
}

void fg_group_columns(const fg_group_by_t *by, fg_table_t *t)
{
    for (int d = 0; d < by->count; d++) {
        switch (by->dims[d].kind) {
        case FG_DIM_DAY: fg_table_col(t, "day", "Ngày / Day", FG_COL_DAY, 12); break;
        case FG_DIM_MONTH: fg_table_col(t, "month", "Tháng / Month", FG_COL_MONTH, 10); break;
        case FG_DIM_MERCHANT:
            fg_table_col(t, "merchant_id", "Mã đơn vị / Merchant ID", FG_COL_TEXT, 32);
            fg_table_col(t, "merchant_name", "Đơn vị thu / Merchant", FG_COL_TEXT, 36);
            break;
        case FG_DIM_FEE_TYPE: fg_table_col(t, "fee_type", "Loại phí / Fee type", FG_COL_TEXT, 14); break;
        case FG_DIM_CATEGORY: fg_table_col(t, "category", "Danh mục / Category", FG_COL_TEXT, 18); break;
        case FG_DIM_ADAPTER: fg_table_col(t, "adapter", "Kênh thanh toán / Method", FG_COL_TEXT, 14); break;
        case FG_DIM_META: {
            char key[FG_TABLE_KEY_MAX + 1];
            snprintf(key, sizeof(key), "metadata.%s", by->meta_keys[by->dims[d].meta]);
            fg_table_col(t, key, key, FG_COL_TEXT, 16);
            break;
        }
        }
    }
}

/* ---- the groups --------------------------------------------------------------------- */

typedef struct {
    int32_t day, month;                /* yyyymmdd, yyyymm: a grouping may hold both */
    char currency[4];                  /* every group's, whatever the grouping */
    char *text[FG_GROUP_DIMS_MAX + 1]; /* per dim; a merchant's name after the last */
    char *key;                         /* the hash key */
    size_t key_len;
    int64_t measures[FG_MEASURES_MAX];
} group_t;

struct fg_grouper {
    fg_group_by_t by;
    int nmeasures;
    char only_currency[4]; /* "" = every currency */
    group_t *groups;
    size_t count, cap;
    size_t *slots; /* index + 1; 0 = empty */
    size_t nslots;
    fg_buf_t key;
};

fg_grouper_t *fg_grouper_new(const fg_group_by_t *by, int nmeasures, const char *only_currency)
{
    fg_grouper_t *g = fg_calloc(1, sizeof(*g));
    g->by = *by;
    g->nmeasures = nmeasures;
    snprintf(g->only_currency, sizeof(g->only_currency), "%s", only_currency != NULL ? only_currency : "");
    g->nslots = 1024;
    g->slots = fg_calloc(g->nslots, sizeof(size_t));
    return g;
}

void fg_grouper_free(fg_grouper_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->count; i++) {
        for (int d = 0; d <= FG_GROUP_DIMS_MAX; d++)
            free(g->groups[i].text[d]);
        free(g->groups[i].key);
    }
    free(g->groups);
    free(g->slots);
    fg_buf_free(&g->key);
    free(g);
}

static const char *dim_text(const fg_grouper_t *g, int d, const fg_dimvals_t *v)
{
    switch (g->by.dims[d].kind) {
    case FG_DIM_MERCHANT: return v->merchant_id;
    case FG_DIM_FEE_TYPE: return v->fee_type;
    case FG_DIM_CATEGORY: return v->category;
    case FG_DIM_ADAPTER: return v->adapter;
    case FG_DIM_META: return v->meta[g->by.dims[d].meta];
    default: return NULL;
    }
}

static int32_t dim_day(const fg_grouper_t *g, int d, const fg_dimvals_t *v)
{
    if (g->by.dims[d].kind == FG_DIM_DAY)
        return v->day;
    if (g->by.dims[d].kind == FG_DIM_MONTH)
        return v->day / 100;
    return 0;
}

/* The group's key: the currency, then each dimension's value, text after a
 * marker of null (0x1E) or present (0x1F), so no two different groups share
 * a key. */
static void make_key(fg_grouper_t *g, const fg_dimvals_t *v)
{
    fg_buf_reset(&g->key);
    fg_buf_append(&g->key, v->currency, strlen(v->currency) + 1);
    for (int d = 0; d < g->by.count; d++) {
        if (g->by.dims[d].kind == FG_DIM_DAY || g->by.dims[d].kind == FG_DIM_MONTH) {
            int32_t x = dim_day(g, d, v);
            fg_buf_append(&g->key, &x, sizeof(x));
            continue;
        }
        const char *t = dim_text(g, d, v);
        fg_buf_putc(&g->key, t == NULL ? '\x1e' : '\x1f');
        if (t != NULL)
            fg_buf_append(&g->key, t, strlen(t) + 1);
    }
}

static uint64_t hash_of(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static void rehash(fg_grouper_t *g)
{
    free(g->slots);
    g->nslots *= 2;
    g->slots = fg_calloc(g->nslots, sizeof(size_t));
    for (size_t i = 0; i < g->count; i++) {
        size_t at = hash_of(g->groups[i].key, g->groups[i].key_len) & (g->nslots - 1);
        while (g->slots[at] != 0)
            at = (at + 1) & (g->nslots - 1);
        g->slots[at] = i + 1;
    }
}

int fg_grouper_add(fg_grouper_t *g, const fg_dimvals_t *v, const int64_t *measures)
{
    assert(v->currency != NULL);
    if (g->only_currency[0] != '\0' && strcmp(g->only_currency, v->currency) != 0)
        return 0;
    make_key(g, v);
    size_t at = hash_of(g->key.data, g->key.len) & (g->nslots - 1);
    group_t *grp = NULL;
    for (; g->slots[at] != 0; at = (at + 1) & (g->nslots - 1)) {
        group_t *c = &g->groups[g->slots[at] - 1];
        if (c->key_len == g->key.len && memcmp(c->key, g->key.data, c->key_len) == 0) {
            grp = c;
            break;
        }
    }
    if (grp == NULL) {
        if (g->count >= FG_TABLE_ROWS_MAX)
            return FG_ETOOLONG;
        if (g->count == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 64;
            g->groups = fg_realloc(g->groups, g->cap * sizeof(group_t));
        }
        grp = &g->groups[g->count];
        memset(grp, 0, sizeof(*grp));
        grp->key = fg_malloc(g->key.len + 1);
        memcpy(grp->key, g->key.data, g->key.len);
        grp->key_len = g->key.len;
        snprintf(grp->currency, sizeof(grp->currency), "%s", v->currency);
        for (int d = 0; d < g->by.count; d++) {
            const char *t = dim_text(g, d, v);
            grp->text[d] = t != NULL ? fg_strdup(t) : NULL;
            if (g->by.dims[d].kind == FG_DIM_DAY)
                grp->day = dim_day(g, d, v);
            else if (g->by.dims[d].kind == FG_DIM_MONTH)
                grp->month = dim_day(g, d, v);
            if (g->by.dims[d].kind == FG_DIM_MERCHANT && v->merchant_name != NULL)
                grp->text[FG_GROUP_DIMS_MAX] = fg_strdup(v->merchant_name);
        }
        g->slots[at] = ++g->count;
        if (g->count * 2 > g->nslots)
            rehash(g);
    }
    for (int m = 0; m < g->nmeasures; m++)
        if (fg_money_add(grp->measures[m], measures[m], &grp->measures[m]) != 0)
            return FG_EOVERFLOW;
    return 0;
}

static int cmp_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL); /* null first */
    return strcmp(a, b);
}

static int cmp_groups(const void *pa, const void *pb, void *arg)
{
    const group_t *a = pa, *b = pb;
    const fg_group_by_t *sort_by = arg;
    for (int d = 0; d < sort_by->count; d++) {
        int c;
        switch (sort_by->dims[d].kind) {
        case FG_DIM_DAY: c = (a->day > b->day) - (a->day < b->day); break;
        case FG_DIM_MONTH: c = (a->month > b->month) - (a->month < b->month); break;
        case FG_DIM_MERCHANT:
            c = cmp_text(a->text[FG_GROUP_DIMS_MAX], b->text[FG_GROUP_DIMS_MAX]);
            if (c == 0)
                c = cmp_text(a->text[d], b->text[d]);
            break;
        default: c = cmp_text(a->text[d], b->text[d]); break;
        }
        if (c != 0)
            return c;
    }
    return fg_currency_cmp(a->currency, b->currency);
}

size_t fg_grouper_sort(fg_grouper_t *g)
{
    if (g->count > 1)
        qsort_r(g->groups, g->count, sizeof(group_t), cmp_groups, &g->by);
    /* the slots point at the old order: no more adds after sorting */
    memset(g->slots, 0, g->nslots * sizeof(size_t));
    return g->count;
}

const int64_t *fg_grouper_emit(const fg_grouper_t *g, size_t i, fg_cell_t *row, int currency_col)
{
    const group_t *grp = &g->groups[i];
    int c = 0;
    for (int d = 0; d < g->by.count; d++) {
        switch (g->by.dims[d].kind) {
        case FG_DIM_DAY: row[c++].num = grp->day; break;
        case FG_DIM_MONTH: row[c++].num = grp->month; break;
        case FG_DIM_MERCHANT:
            fg_cell_text(&row[c++], grp->text[d], grp->text[d] != NULL ? strlen(grp->text[d]) : 0);
            fg_cell_text(&row[c++], grp->text[FG_GROUP_DIMS_MAX],
                         grp->text[FG_GROUP_DIMS_MAX] != NULL ? strlen(grp->text[FG_GROUP_DIMS_MAX]) : 0);
            break;
        default: fg_cell_text(&row[c++], grp->text[d], grp->text[d] != NULL ? strlen(grp->text[d]) : 0); break;
        }
    }
    fg_cell_text(&row[currency_col], grp->currency, strlen(grp->currency));
    return grp->measures;
}
