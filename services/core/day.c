/*
 * day.c - business days in GMT+7 (day.h).  The civil-date conversions are
 * Howard Hinnant's days_from_civil and civil_from_days.
 */
#include "core/day.h"

#include <string.h>
#include "core/text.h"

int fg_day_make(int y, int m, int d, int32_t *out)
{
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > DAYS[m - 1] + (m == 2 && leap))
        return -1;
    *out = (int32_t)(y * 10000 + m * 100 + d);
    return 0;
}

int fg_day_parse(const char *s, size_t len, int32_t *out)
{
    if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int v[3] = {0, 0, 0};
    static const int FROM[3] = {0, 5, 8}, TO[3] = {4, 7, 10};
    for (int f = 0; f < 3; f++) {
        for (int i = FROM[f]; i < TO[f]; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            v[f] = v[f] * 10 + (s[i] - '0');
        }
    }
    return fg_day_make(v[0], v[1], v[2], out);
}

int64_t fg_day_number(int32_t day)
{
    int y = day / 10000, m = day / 100 % 100, d = day % 100;
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

int64_t fg_day_start_ms(int32_t day) { return fg_day_number(day) * FG_DAY_MS - FG_DAY_OFFSET_MS; }

int32_t fg_day_of_ms(int64_t ms)
{
    int64_t shifted = ms + FG_DAY_OFFSET_MS;
    int64_t z = (shifted >= 0 ? shifted / FG_DAY_MS : -((-shifted + FG_DAY_MS - 1) / FG_DAY_MS)) + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    return (int32_t)((y + (m <= 2)) * 10000 + m * 100 + d);
}

int32_t fg_day_next(int32_t day)
{
    int32_t next;
    int y = day / 10000, m = day / 100 % 100, d = day % 100;
    if (fg_day_make(y, m, d + 1, &next) == 0 || fg_day_make(y, m + 1, 1, &next) == 0)
        return next;
    return (y + 1) * 10000 + 101;
}

int32_t fg_day_prev(int32_t day) { return fg_day_of_ms((fg_day_number(day) - 1) * FG_DAY_MS - FG_DAY_OFFSET_MS); }

void fg_day_format(int32_t day, char out[11])
{
    unsigned v[3] = {(unsigned)(day / 10000 % 10000), (unsigned)(day / 100 % 100), (unsigned)(day % 100)};
    static const int WIDTH[3] = {4, 2, 2};
    char *p = out;
    for (int f = 0; f < 3; f++) {
        if (f > 0)
            *p++ = '-';
        for (int i = WIDTH[f] - 1; i >= 0; i--, v[f] /= 10)
            p[i] = (char)('0' + v[f] % 10);
        p += WIDTH[f];
    }
    *p = '\0';
}

void fg_day_time_format(int64_t ms, char out[17])
{
    char text[40];
    /* "YYYY-MM-DDTHH:MM:SSZ" of the time shifted to GMT+7: its date and minutes */
    fg_time_format_rfc3339(ms + FG_DAY_OFFSET_MS, 0, text, sizeof(text));
    text[10] = ' ';
    memcpy(out, text, 16);
    out[16] = '\0';
}
