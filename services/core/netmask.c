/*
 * netmask.c - lists of IP networks and matching addresses against them
 * (netmask.h).  Every address is kept in 16 bytes, IPv4 as IPv4-mapped
 * IPv6, so one comparison serves both families.
 */
#include "core/netmask.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"

#define TEXT_MAX 64 /* longer than any numeric address with its prefix */

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Reads a numeric address (len bytes) into 16 bytes; *v4 says which family
 * it was written in.  Returns 0 or FG_EINVALID. */
static int read_address(const char *text, size_t len, uint8_t out[16], int *v4)
{
    char copy[TEXT_MAX];
    if (len == 0 || len >= sizeof(copy))
        return FG_EINVALID;
    memcpy(copy, text, len);
    copy[len] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, copy, &a4) == 1) {
        memcpy(out, V4_MAPPED, sizeof(V4_MAPPED));
        memcpy(out + 12, &a4, 4);
        *v4 = 1;
        return 0;
    }
    *v4 = 0;
    return inet_pton(AF_INET6, copy, out) == 1 ? 0 : FG_EINVALID;
}

/* 1 when the first bits of a and b are equal. */
static int prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static int parse_one(const char *p, size_t len, fg_netmask_t *out)
{
    const char *slash = memchr(p, '/', len);
    size_t addr_len = slash != NULL ? (size_t)(slash - p) : len;
    int v4;
    if (read_address(p, addr_len, out->addr, &v4) != 0)
        return FG_EINVALID;
    int max = v4 ? 32 : 128, bits = max;
    if (slash != NULL) {
        size_t digits = len - addr_len - 1;
        if (digits == 0 || digits > 3 || strspn(slash + 1, "0123456789") < digits)
            return FG_EINVALID;
        bits = 0;
        for (size_t i = 0; i < digits; i++)
            bits = bits * 10 + (slash[1 + i] - '0');
        if (bits > max)
            return FG_EINVALID;
    }
    out->bits = v4 ? bits + 96 : bits;
    /* host bits set beyond the prefix are a typo more often than not */
    for (int b = out->bits; b < 128; b++)
        if (out->addr[b / 8] & (0x80 >> (b % 8)))
            return FG_EINVALID;
    return 0;
}

int fg_netmasks_parse(const char *list, fg_netmask_t *out, int cap)
{
    int n = 0;
    const char *p = list;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && p[end - 1] == ' ')
            end--;
        if (n == cap || parse_one(p, end, &out[n]) != 0)
            return FG_EINVALID;
        n++;
        if (p[len] == '\0')
            return n;
        p += len + 1;
        while (*p == ' ')
            p++;
    }
}

int fg_netmasks_match(const fg_netmask_t *masks, int n, const char *address, size_t len)
{
    uint8_t a[16];
    int v4;
    if (read_address(address, len, a, &v4) != 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (prefix_equal(a, masks[i].addr, masks[i].bits))
            return 1;
    return 0;
}

int fg_address_canonical(const char *address, size_t len, char *out, size_t cap)
{
    uint8_t a[16];
    int v4;
    if (cap < INET6_ADDRSTRLEN || read_address(address, len, a, &v4) != 0)
        return FG_EINVALID;
    int mapped = memcmp(a, V4_MAPPED, sizeof(V4_MAPPED)) == 0;
    const char *r = mapped ? inet_ntop(AF_INET, a + 12, out, (socklen_t)cap)
                           : inet_ntop(AF_INET6, a, out, (socklen_t)cap);
    return r != NULL ? 0 : FG_EINVALID;
}

/* One X-Forwarded-For entry (spaces trimmed) into its canonical address;
 * a port after an IPv4 address or a bracketed IPv6 one is dropped. */
static int entry_address(const char *p, size_t len, char *out, size_t cap)
{
    while (len > 0 && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len > 0 && *p == '[') {
        const char *close = memchr(p, ']', len);
        if (close == NULL)
            return FG_EINVALID;
        return fg_address_canonical(p + 1, (size_t)(close - p - 1), out, cap);
    }
    const char *colon = memchr(p, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - p) - 1) == NULL)
        len = (size_t)(colon - p); /* IPv4 with a port: one colon only */
    return fg_address_canonical(p, len, out, cap);
}

void fg_forwarded_client(const fg_netmask_t *masks, int n, const char *peer, const char *const *values,
                         const size_t *lens, int count, char *out, size_t cap)
{
    char hop[INET6_ADDRSTRLEN];
    if (fg_address_canonical(peer, strlen(peer), out, cap) != 0) {
        snprintf(out, cap, "%s", peer);
        return;
    }
    if (!fg_netmasks_match(masks, n, out, strlen(out)))
        return;
    for (int h = count - 1; h >= 0; h--) {
        size_t end = lens[h];
        for (;;) {
            size_t start = end;
            while (start > 0 && values[h][start - 1] != ',')
                start--;
            if (entry_address(values[h] + start, end - start, hop, sizeof(hop)) != 0)
                return; /* not an address: the last proxy reached stands */
            snprintf(out, cap, "%s", hop);
            if (!fg_netmasks_match(masks, n, hop, strlen(hop)))
                return;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
}
