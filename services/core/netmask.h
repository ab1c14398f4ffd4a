/*
 * netmask.h - lists of IP networks ("10.0.0.0/8,192.0.2.7,2001:db8::/32")
 * and whether an address falls in one: the trusted proxies whose
 * X-Forwarded-For names the client.
 */
#ifndef FG_CORE_NETMASK_H
#define FG_CORE_NETMASK_H

#include <stddef.h>
#include <stdint.h>

/* Networks one list may hold. */
#define FG_NETMASKS_MAX 64

typedef struct {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    int bits;         /* prefix length over the 128 bits */
} fg_netmask_t;

/** Parses a comma-separated list of addresses and networks (address/bits,
 *  IPv4 or IPv6; spaces around entries allowed; "" is an empty list) into
 *  out (cap entries).  Returns the count, or FG_EINVALID for a malformed
 *  entry, host bits set beyond the prefix, or more than cap entries. */
int fg_netmasks_parse(const char *list, fg_netmask_t *out, int cap);

/** 1 when the numeric address (len bytes, IPv4 or IPv6, IPv4-mapped IPv6
 *  taken as IPv4) falls in one of the n networks; 0 otherwise, and for text
 *  that is not an address. */
int fg_netmasks_match(const fg_netmask_t *masks, int n, const char *address, size_t len);

/** Writes the address (len bytes) in its canonical numeric form into out
 *  (cap >= 46; IPv4-mapped IPv6 as IPv4).  Returns 0, or FG_EINVALID when
 *  it is not an address. */
int fg_address_canonical(const char *address, size_t len, char *out, size_t cap);

/** The client a request comes from: its TCP peer (peer, a numeric
 *  address), unless the peer is one of the n trusted proxies; then the
 *  X-Forwarded-For values (count headers, in the order received, each a
 *  comma-separated list) are read from the right, each proxy appending the
 *  address it heard from, and the first address that is not a trusted proxy
 *  is the client (the leftmost when all are).  An entry that is not an
 *  address ends the walk at the last proxy reached.  Entries may carry a
 *  port ("192.0.2.1:4711", "[2001:db8::1]:4711").  Writes the canonical
 *  address into out (cap >= 46). */
void fg_forwarded_client(const fg_netmask_t *masks, int n, const char *peer, const char *const *values,
                         const size_t *lens, int count, char *out, size_t cap);

#endif
