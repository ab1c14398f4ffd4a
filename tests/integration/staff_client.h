/*
 * staff_client.h - what the staff pages' suites (test_staff_pages.c,
 * test_staff_admin.c) do as a browser would: make staff users, log in
 * through the form, read cookies and CSRF tokens, GET and POST with a cookie.
 */
#ifndef FGT_STAFF_CLIENT_H
#define FGT_STAFF_CLIENT_H

#include <stddef.h>
#include "harness.h"

/* Every staff user these suites make has this password. */
#define PASSWORD "correct horse battery staple"

/** A new staff user of role (scoped to merchant when not NULL), its e-mail into email (128). */
void user_create(const char *role, const char *merchant, char *email);
/** The value of cookie name among r's Set-Cookie headers into out (its attributes into attrs
 *  when not NULL): 1 found, 0 not. */
int set_cookie(const fgt_response_t *r, const char *name, char *out, size_t cap, char *attrs, size_t attrs_cap);
/** The first csrf_token value of a page. */
void csrf_of(const fgt_response_t *r, char *out, size_t cap);
/** GET path with the cookie (may be NULL). */
fgt_response_t get(const fgt_server_t *s, fgt_proto_t proto, const char *cookie, const char *path);
/** POST a body of the given type with the cookie. */
fgt_response_t post(const fgt_server_t *s, fgt_proto_t proto, const char *cookie, const char *path, const char *type,
                    const char *body, size_t len);
/** Percent-encodes s into out for a form body. */
void form_escape(const char *s, char *out, size_t cap);
/** A login attempt on s (GET the form, POST it): the POST's response; on success *session
 *  gets "fg_staff=<secret>". */
fgt_response_t login_on(const fgt_server_t *s, fgt_proto_t proto, const char *email, const char *password,
                        char *session, size_t cap);

#endif
