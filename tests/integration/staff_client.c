/*
 * staff_client.c - a browser's part in the staff pages' suites: staff users
 * made with the CLI, the login form (its CSRF token and pre-login cookie),
 * cookies, forms (staff_client.h).
 */
#include "staff_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void user_create(const char *role, const char *merchant, char *email)
{
    char out[512];
    snprintf(email, 128, "%s@%s.gov.vn", role, fgt_unique("p"));
    const char *with[] = {"feegate", "admin", "user",       "create", "--email", email,
                          "--role",  role,    "--merchant", merchant, NULL};
    const char *without[] = {"feegate", "admin", "user", "create", "--email", email, "--role", role, NULL};
    /* also called from main, outside a test: no ck_assert */
    if (fgt_cli(merchant != NULL ? with : without, PASSWORD "\n", out, sizeof(out)) != 0) {
        fprintf(stderr, "admin user create --role %s failed\n", role);
        exit(1);
    }
}

/* The value of cookie name among the response's Set-Cookie headers, into out
 * (with its attributes in attrs when not NULL); 1 found. */
int set_cookie(const fgt_response_t *r, const char *name, char *out, size_t cap, char *attrs, size_t attrs_cap)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p != NULL && *p != '\0';) {
        if (strncasecmp(p, "set-cookie:", 11) == 0) {
            const char *v = p + 11;
            v += strspn(v, " ");
            if (strncmp(v, name, n) == 0 && v[n] == '=') {
                snprintf(out, cap, "%.*s", (int)strcspn(v + n + 1, ";\r\n"), v + n + 1);
                if (attrs != NULL)
                    snprintf(attrs, attrs_cap, "%.*s", (int)strcspn(v, "\r\n"), v);
                return 1;
            }
        }
        const char *nl = strchr(p, '\n');
        p = nl != NULL ? nl + 1 : NULL;
    }
    return 0;
}

/* The first csrf_token value of a page. */
void csrf_of(const fgt_response_t *r, char *out, size_t cap)
{
    const char *at = r->body != NULL ? strstr(r->body, "name=\"csrf_token\" value=\"") : NULL;
    ck_assert_msg(at != NULL, "no csrf_token in %.300s", r->body != NULL ? r->body : "");
    at += strlen("name=\"csrf_token\" value=\"");
    snprintf(out, cap, "%.*s", (int)strcspn(at, "\""), at);
}

fgt_response_t get(const fgt_server_t *s, fgt_proto_t proto, const char *cookie, const char *path)
{
    char h[400];
    snprintf(h, sizeof(h), "Cookie: %s", cookie != NULL ? cookie : "");
    const char *headers[] = {h, NULL};
    return fgt_request(s, proto, "GET", path, cookie != NULL ? headers : NULL, NULL, 0);
}

fgt_response_t post(const fgt_server_t *s, fgt_proto_t proto, const char *cookie, const char *path, const char *type,
                    const char *body, size_t len)
{
    char h[400], t[200];
    snprintf(h, sizeof(h), "Cookie: %s", cookie != NULL ? cookie : "");
    snprintf(t, sizeof(t), "Content-Type: %s", type);
    const char *headers[] = {t, h, NULL};
    return fgt_request(s, proto, "POST", path, headers, body, len);
}

/* Percent-encodes s into out for a form body. */
void form_escape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s != '\0' && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* A login attempt on s: GET the form, POST it.  The response of the POST;
 * on success *session gets "fg_staff=<secret>". */
fgt_response_t login_on(const fgt_server_t *s, fgt_proto_t proto, const char *email, const char *password,
                        char *session, size_t cap)
{
    char pre[128], cookie[200], csrf[96], body[1024], e[400], pw[400];
    fgt_response_t page = get(s, proto, NULL, "/staff/login");
    ck_assert_int_eq(page.status, 200);
    ck_assert_msg(set_cookie(&page, "fg_staff_login", pre, sizeof(pre), NULL, 0), "no login cookie");
    csrf_of(&page, csrf, sizeof(csrf));
    fgt_response_free(&page);
    snprintf(cookie, sizeof(cookie), "fg_staff_login=%s", pre);
    form_escape(email, e, sizeof(e));
    form_escape(password, pw, sizeof(pw));
    snprintf(body, sizeof(body), "csrf_token=%s&email=%s&password=%s", csrf, e, pw);
    fgt_response_t r = post(s, proto, cookie, "/staff/login", "application/x-www-form-urlencoded", body, 0);
    char secret[128];
    if (session != NULL) {
        session[0] = '\0';
        if (set_cookie(&r, "fg_staff", secret, sizeof(secret), NULL, 0) && secret[0] != '\0')
            snprintf(session, cap, "fg_staff=%s", secret);
    }
    return r;
}
