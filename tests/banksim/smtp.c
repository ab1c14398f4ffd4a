/*
 * smtp.c - the unit's mail relay (PROTOCOLS.md, "Reminder channels": SMTP
 * submission with STARTTLS and AUTH), as RFC 5321, 3207 and 4954 describe it:
 * EHLO/HELO, STARTTLS (offered with --smtp-tls-cert/--smtp-tls-key; the
 * client says EHLO again after it), AUTH PLAIN and LOGIN (required with
 * --smtp-user/--smtp-password, and offered only inside TLS when TLS is
 * configured), MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT.
 *
 * One thread accepts; each connection gets a thread of its own, with blocking
 * reads bounded by a timeout.  A message accepted with 250 is recorded
 * (messages.c) under its Message-ID: a second message with the same
 * Message-ID is another attempt of the first.
 */
#define _GNU_SOURCE /* accept4, memrchr */
#include "banksim.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- limits --------------------------------------------------------------------- */

/* Sessions at once: a sender keeps a few; more is a leak in the sender. */
#define SMTP_CONNECTIONS_MAX 32
/* RFC 5321 4.5.3.1.6: a text line is at most 1000 bytes with its CRLF (used
 * for command lines too: an AUTH PLAIN line may exceed the 512 of 4.5.3.1.4). */
#define SMTP_LINE_MAX 1000
/* The SIZE the relay advertises and enforces. */
#define SMTP_MESSAGE_MAX (1024 * 1024)
/* RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted; more are
 * refused with 452. */
#define SMTP_RECIPIENTS_MAX 100
/* RFC 5321 4.1.2: a path is at most 256 bytes, a mailbox 254. */
#define SMTP_ADDRESS_MAX 254
/* Refused commands before the relay hangs up (421): a confused client or a
 * password guesser. */
#define SMTP_ERRORS_MAX 20
/* RFC 5321 4.5.3.2.7: the server waits 5 minutes for the next command. */
#define SMTP_IDLE_TIMEOUT_S 300
#define SMTP_SEND_TIMEOUT_S 30
/* How often the accepting thread looks at bs_stopping. */
#define SMTP_ACCEPT_POLL_MS 200
/* How long stopping waits for the sessions to end. */
#define SMTP_STOP_WAIT_S 10
/* Bytes read from the socket at once. */
#define SMTP_READ_CHUNK 4096

_Static_assert(SMTP_LINE_MAX < SMTP_MESSAGE_MAX, "a message holds at least one line");

/* ---- the relay: listener, TLS context, sessions ---------------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ended;
    int listen_fd;
    SSL_CTX *tls;
    pthread_t acceptor;
    int started;
    int fds[SMTP_CONNECTIONS_MAX]; /* -1: a free slot */
    int active;
} relay = {.lock = PTHREAD_MUTEX_INITIALIZER, .ended = PTHREAD_COND_INITIALIZER, .listen_fd = -1};

typedef struct {
    int fd, slot;
    SSL *ssl;
    char in[SMTP_READ_CHUNK];
    size_t in_start, in_end;
    int greeted, tls, auth, in_mail, errors;
    char from[SMTP_ADDRESS_MAX + 1];
    bs_buf_t recipients; /* ", "-separated */
    int recipient_count;
} session_t;

static int auth_required(void) { return bs_config.smtp_user != NULL; }

/* AUTH is offered inside TLS when TLS is configured, as real relays do. */
static int auth_offered(const session_t *s) { return auth_required() && (relay.tls == NULL || s->tls); }

/* ---- I/O -------------------------------------------------------------------------- */

static int write_all(session_t *s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = s->ssl != NULL ? SSL_write(s->ssl, p, (int)n) : send(s->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void reply(session_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(session_t *s, const char *fmt, ...)
{
    char line[SMTP_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 3)
        n = (int)sizeof(line) - 3;
    memcpy(line + n, "\r\n", 2);
    (void)write_all(s, line, (size_t)n + 2); /* a lost peer shows at the next read */
}

/* A refusal of a bad command or sequence: counts towards SMTP_ERRORS_MAX. */
static void refuse(session_t *s, const char *text)
{
    s->errors++;
    reply(s, "%s", text);
}

static int fill(session_t *s)
{
    ssize_t n = s->ssl != NULL ? SSL_read(s->ssl, s->in, sizeof(s->in)) : recv(s->fd, s->in, sizeof(s->in), 0);
    if (n <= 0)
        return -1;
    s->in_start = 0;
    s->in_end = (size_t)n;
    return 0;
}

/* The next line without its CRLF (or bare LF) into line.  *too_long is set
 * when it was longer than SMTP_LINE_MAX (the rest is read and dropped).
 * Returns -1 when the connection ended. */
static int read_line(session_t *s, bs_buf_t *line, int *too_long)
{
    line->len = 0;
    bs_buf_puts(line, "");
    *too_long = 0;
    for (;;) {
        if (s->in_start == s->in_end && fill(s) != 0)
            return -1;
        char *start = s->in + s->in_start, *lf = memchr(start, '\n', s->in_end - s->in_start);
        size_t n = lf != NULL ? (size_t)(lf - start) + 1 : s->in_end - s->in_start;
        if (line->len + n > SMTP_LINE_MAX)
            *too_long = 1;
        else
            bs_buf_append(line, start, n);
        s->in_start += n;
        if (lf != NULL)
            break;
    }
    while (line->len > 0 && (line->data[line->len - 1] == '\n' || line->data[line->len - 1] == '\r'))
        line->data[--line->len] = '\0';
    return 0;
}

/* ---- base64 (AUTH) and RFC 2047 encoded words (Subject) ------------------------------- */

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes n bytes of base64 (padding required) into out; -1 when malformed. */
static int base64_decode(const char *s, size_t n, bs_buf_t *out)
{
    out->len = 0;
    bs_buf_puts(out, "");
    if (n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            int last_group = i + 4 == n;
            if (s[i + k] == '=' && last_group && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = base64_value(s[i + k])) < 0 || pad > 0) {
                return -1;
            }
        }
        unsigned bits = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        char bytes[3] = {(char)(bits >> 16), (char)(bits >> 8), (char)bits};
        bs_buf_append(out, bytes, (size_t)(3 - pad));
    }
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* An encoded word "=?charset?B|Q?text?=" at p: decodes it into out (when not
 * NULL) and returns the byte after it, or NULL when p does not start one.
 * The charset is not converted: feegate writes UTF-8. */
static const char *encoded_word(const char *p, bs_buf_t *out)
{
    const char *q = p[0] == '=' && p[1] == '?' ? strchr(p + 2, '?') : NULL;
    if (q == NULL || q == p + 2 || q[1] == '\0' || q[2] != '?')
        return NULL;
    char encoding = q[1];
    const char *text = q + 3, *end = strstr(text, "?=");
    if (end == NULL || (encoding != 'B' && encoding != 'b' && encoding != 'Q' && encoding != 'q'))
        return NULL;
    for (const char *c = p; c < end; c++)
        if (*c == ' ' || *c == '\t')
            return NULL;
    bs_buf_t decoded = BS_BUF_INIT;
    if (encoding == 'B' || encoding == 'b') {
        if (base64_decode(text, (size_t)(end - text), &decoded) != 0) {
            bs_buf_free(&decoded);
            return NULL;
        }
    } else {
        for (const char *c = text; c < end; c++) {
            int hi, lo;
            if (*c == '_') {
                bs_buf_putc(&decoded, ' ');
            } else if (*c == '=' && c + 2 < end && (hi = hex_digit(c[1])) >= 0 && (lo = hex_digit(c[2])) >= 0) {
                bs_buf_putc(&decoded, (char)(hi * 16 + lo));
                c += 2;
            } else {
                bs_buf_putc(&decoded, *c);
            }
        }
    }
    if (out != NULL)
        bs_buf_append(out, decoded.data != NULL ? decoded.data : "", decoded.len);
    bs_buf_free(&decoded);
    return end + 2;
}

/* s with its encoded words decoded; the white space between two adjacent
 * encoded words goes (RFC 2047 6.2). */
static void decode_words(const char *s, bs_buf_t *out)
{
    for (const char *p = s; *p != '\0';) {
        const char *after = encoded_word(p, out);
        if (after == NULL) {
            bs_buf_putc(out, *p++);
            continue;
        }
        p = after;
        const char *next = p + strspn(p, " \t");
        if (next != p && encoded_word(next, NULL) != NULL)
            p = next;
    }
}

/* ---- the message -------------------------------------------------------------------------- */

/* The unfolded value of header name in the header section, or NULL (malloc'd). */
static char *header_value(const char *headers, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = headers; *line != '\0';) {
        const char *eol = strstr(line, "\r\n");
        if (eol == NULL)
            eol = line + strlen(line);
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            bs_buf_t v = BS_BUF_INIT;
            const char *p = line + n + 1;
            for (;;) {
                bs_buf_append(&v, p, (size_t)(eol - p));
                if (eol[0] == '\0' || (eol[2] != ' ' && eol[2] != '\t'))
                    break;
                p = eol + 2;
                eol = strstr(p, "\r\n");
                if (eol == NULL)
                    eol = p + strlen(p);
            }
            char *value = bs_buf_take(&v), *start = value + strspn(value, " \t");
            size_t len = strlen(start);
            while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
                len--;
            memmove(value, start, len);
            value[len] = '\0';
            return value;
        }
        line = eol[0] != '\0' ? eol + 2 : eol;
    }
    return NULL;
}

/* Records the message data (CRLF lines, unstuffed) and returns the reply. */
static void accept_message(session_t *s, bs_buf_t *data)
{
    const char *text = bs_buf_cstr(data), *blank = strstr(text, "\r\n\r\n");
    char *headers = blank != NULL ? bs_strndup(text, (size_t)(blank - text) + 2) : bs_strdup(text);
    const char *body = blank != NULL ? blank + 4 : "";
    char *message_id = header_value(headers, "Message-ID"), *subject_raw = header_value(headers, "Subject");
    char fresh[40], id[64], key[BS_MESSAGE_KEY_MAX + 64];
    bs_buf_t subject = BS_BUF_INIT;
    if (subject_raw != NULL)
        decode_words(subject_raw, &subject);
    bs_message_id(fresh, 0);
    if (message_id != NULL && message_id[0] != '\0' && strlen(message_id) <= BS_MESSAGE_KEY_MAX)
        snprintf(key, sizeof(key), "%s", message_id);
    else
        snprintf(key, sizeof(key), "<%s@banksim>", fresh); /* none: always a new message */
    bs_chaos_t c = bs_chaos_get();
    int64_t received_ms = 0;
    bs_message_t m = {.channel = BS_CHANNEL_EMAIL,
                      .key = key,
                      .id = fresh,
                      .to = bs_buf_cstr(&s->recipients),
                      .from = s->from,
                      .subject = subject_raw != NULL ? bs_buf_cstr(&subject) : NULL,
                      .headers = headers,
                      .content = body,
                      .tls = s->tls,
                      .auth = s->auth};
    int rc = c.smtp_code != 0 ? 2 : bs_message_record(&m, id, sizeof(id), &received_ms);
    char answer[200];
    if (rc == 2)
        snprintf(answer, sizeof(answer), "%d %d.0.0 simulated %s (chaos smtp_code)", c.smtp_code, c.smtp_code / 100,
                 c.smtp_code < 500 ? "temporary failure" : "rejection");
    else if (rc < 0)
        snprintf(answer, sizeof(answer), "452 4.3.1 insufficient system storage (POST /control/reset)");
    else
        snprintf(answer, sizeof(answer), "250 2.0.0 Ok: queued as %s", id);
    bs_log_add("smtp.message", "in", "DATA", key, headers, atoi(answer), answer,
               rc == 0 ? "a repeated Message-ID: another attempt of the same message" : NULL);
    if (c.messages_delay_ms > 0)
        bs_sleep_ms(c.messages_delay_ms);
    reply(s, "%s", answer);
    bs_buf_free(&subject);
    free(subject_raw);
    free(message_id);
    free(headers);
}

/* ---- commands -------------------------------------------------------------------------------- */

typedef enum { GO_ON, HANG_UP } next_t;

static void transaction_reset(session_t *s)
{
    s->in_mail = 0;
    s->from[0] = '\0';
    s->recipients.len = 0;
    bs_buf_puts(&s->recipients, "");
    s->recipient_count = 0;
}

static next_t cmd_ehlo(session_t *s, const char *arg, int extended)
{
    if (arg[0] == '\0') {
        refuse(s, extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
        return GO_ON;
    }
    transaction_reset(s);
    s->greeted = 1;
    if (!extended) {
        reply(s, "250 banksim");
        return GO_ON;
    }
    const char *lines[8];
    char size[32];
    int n = 0;
    snprintf(size, sizeof(size), "SIZE %d", SMTP_MESSAGE_MAX);
    lines[n++] = "banksim";
    lines[n++] = "PIPELINING";
    lines[n++] = size;
    lines[n++] = "8BITMIME";
    lines[n++] = "ENHANCEDSTATUSCODES";
    if (relay.tls != NULL && !s->tls)
        lines[n++] = "STARTTLS";
    if (auth_offered(s))
        lines[n++] = "AUTH PLAIN LOGIN";
    for (int i = 0; i < n; i++)
        reply(s, "250%c%s", i + 1 < n ? '-' : ' ', lines[i]);
    return GO_ON;
}

static next_t cmd_starttls(session_t *s, const char *arg)
{
    if (relay.tls == NULL) {
        refuse(s, "502 5.5.1 STARTTLS is not offered");
        return GO_ON;
    }
    if (arg[0] != '\0') {
        refuse(s, "501 5.5.4 Syntax: STARTTLS");
        return GO_ON;
    }
    if (!s->greeted || s->tls) {
        refuse(s, s->tls ? "503 5.5.1 TLS is already active" : "503 5.5.1 Send EHLO first");
        return GO_ON;
    }
    reply(s, "220 2.0.0 Ready to start TLS");
    /* commands sent before the handshake are not believed (RFC 3207 6) */
    s->in_start = s->in_end = 0;
    s->ssl = SSL_new(relay.tls);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1 || SSL_accept(s->ssl) != 1) {
        ERR_clear_error();
        return HANG_UP;
    }
    /* RFC 3207 4.2: the session starts over */
    s->tls = 1;
    s->greeted = 0;
    s->auth = 0;
    transaction_reset(s);
    return GO_ON;
}

/* A continuation line of AUTH into out (decoded); -1 when the exchange
 * ended (the reply is given). */
static int auth_read(session_t *s, const char *challenge, const char *initial, bs_buf_t *out)
{
    bs_buf_t line = BS_BUF_INIT;
    int too_long = 0, rc = -1;
    if (initial == NULL) {
        reply(s, "334 %s", challenge);
        if (read_line(s, &line, &too_long) != 0)
            goto Exit;
        initial = bs_buf_cstr(&line);
    }
    if (strcmp(initial, "*") == 0)
        refuse(s, "501 5.7.0 Authentication cancelled");
    else if (too_long || (strcmp(initial, "=") != 0 && base64_decode(initial, strlen(initial), out) != 0))
        refuse(s, "501 5.5.2 Cannot decode the response");
    else
        rc = 0; /* "=" is an empty response (RFC 4954 4) */
Exit:
    bs_buf_free(&line);
    return rc;
}

/* Checks the user and password (PLAIN: authzid NUL user NUL password). */
static int credentials_valid(const char *user, size_t user_len, const char *password, size_t password_len)
{
    return user_len == strlen(bs_config.smtp_user) && password_len == strlen(bs_config.smtp_password) &&
           memcmp(user, bs_config.smtp_user, user_len) == 0 &&
           CRYPTO_memcmp(password, bs_config.smtp_password, password_len) == 0;
}

static int auth_plain(session_t *s, const char *initial)
{
    bs_buf_t d = BS_BUF_INIT;
    int ok = -1;
    if (auth_read(s, "", initial, &d) == 0) {
        const char *p = bs_buf_cstr(&d), *end = p + d.len;
        const char *user = memchr(p, '\0', d.len);
        const char *password = user != NULL ? memchr(user + 1, '\0', (size_t)(end - user - 1)) : NULL;
        ok = password != NULL &&
             credentials_valid(user + 1, (size_t)(password - user - 1), password + 1, (size_t)(end - password - 1));
    }
    bs_buf_free(&d);
    return ok;
}

static int auth_login(session_t *s, const char *initial)
{
    bs_buf_t user = BS_BUF_INIT, password = BS_BUF_INIT;
    int ok = -1;
    /* "Username:" and "Password:" in base64 */
    if (auth_read(s, "VXNlcm5hbWU6", initial, &user) == 0 && auth_read(s, "UGFzc3dvcmQ6", NULL, &password) == 0)
        ok = credentials_valid(bs_buf_cstr(&user), user.len, bs_buf_cstr(&password), password.len);
    bs_buf_free(&user);
    bs_buf_free(&password);
    return ok;
}

static next_t cmd_auth(session_t *s, const char *arg)
{
    if (!auth_required()) {
        refuse(s, "502 5.5.1 AUTH is not offered");
        return GO_ON;
    }
    if (!s->greeted || s->auth || s->in_mail) {
        refuse(s, !s->greeted ? "503 5.5.1 Send EHLO first"
                  : s->auth   ? "503 5.5.1 Already authenticated"
                              : "503 5.5.1 AUTH is not allowed during a mail transaction");
        return GO_ON;
    }
    if (!auth_offered(s)) {
        refuse(s, "538 5.7.11 Encryption required: STARTTLS first");
        return GO_ON;
    }
    char mechanism[16] = "";
    size_t n = strcspn(arg, " ");
    const char *initial = arg[n] == ' ' ? arg + n + 1 : NULL;
    if (n < sizeof(mechanism))
        memcpy(mechanism, arg, n), mechanism[n] = '\0';
    int ok;
    if (strcasecmp(mechanism, "PLAIN") == 0)
        ok = auth_plain(s, initial);
    else if (strcasecmp(mechanism, "LOGIN") == 0)
        ok = auth_login(s, initial);
    else {
        refuse(s, "504 5.5.4 Unrecognized authentication type");
        return GO_ON;
    }
    if (ok == 1) {
        s->auth = 1;
        reply(s, "235 2.7.0 Authentication successful");
    } else if (ok == 0) {
        refuse(s, "535 5.7.8 Authentication credentials invalid");
    }
    return GO_ON;
}

/* A mailbox local@domain without spaces, brackets or controls. */
static int address_valid(const char *a, size_t n)
{
    const char *at = n > 0 ? memrchr(a, '@', n) : NULL;
    if (n > SMTP_ADDRESS_MAX || at == NULL || at == a || at == a + n - 1)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)a[i] <= ' ' || a[i] == '<' || a[i] == '>' || a[i] == 0x7f)
            return 0;
    return 1;
}

/* "FROM:<a@b> PARAMS" after the verb: the address into out, *params after it.
 * -1 when malformed. */
static int path_parse(const char *arg, const char *prefix, char out[SMTP_ADDRESS_MAX + 1], const char **params,
                      int null_ok)
{
    size_t n = strlen(prefix);
    if (strncasecmp(arg, prefix, n) != 0)
        return -1;
    const char *p = arg + n + strspn(arg + n, " ");
    const char *close = *p == '<' ? strchr(p, '>') : NULL;
    if (close == NULL)
        return -1;
    size_t len = (size_t)(close - p - 1);
    if (!(len == 0 && null_ok) && !address_valid(p + 1, len))
        return -1;
    memcpy(out, p + 1, len);
    out[len] = '\0';
    *params = close + 1 + strspn(close + 1, " ");
    return close[1] == '\0' || close[1] == ' ' ? 0 : -1;
}

/* MAIL's parameters: SIZE, BODY and AUTH are known; NULL or the refusal. */
static const char *mail_params(const char *params)
{
    while (*params != '\0') {
        size_t n = strcspn(params, " ");
        if (strncasecmp(params, "SIZE=", 5) == 0) {
            if (strtoll(params + 5, NULL, 10) > SMTP_MESSAGE_MAX)
                return "552 5.3.4 Message size exceeds the limit";
        } else if (strncasecmp(params, "BODY=", 5) != 0 && strncasecmp(params, "AUTH=", 5) != 0) {
            return "555 5.5.4 Unsupported MAIL parameter";
        }
        params += n + strspn(params + n, " ");
    }
    return NULL;
}

static next_t cmd_mail(session_t *s, const char *arg)
{
    const char *params = NULL, *problem;
    char from[SMTP_ADDRESS_MAX + 1];
    if (!s->greeted || s->in_mail)
        refuse(s, !s->greeted ? "503 5.5.1 Send EHLO first" : "503 5.5.1 Nested MAIL command");
    else if (auth_required() && !s->auth)
        refuse(s, "530 5.7.0 Authentication required");
    else if (path_parse(arg, "FROM:", from, &params, 1) != 0)
        refuse(s, "501 5.1.7 Syntax: MAIL FROM:<address>");
    else if ((problem = mail_params(params)) != NULL)
        refuse(s, problem);
    else {
        memcpy(s->from, from, sizeof(from));
        s->in_mail = 1;
        reply(s, "250 2.1.0 Ok");
    }
    return GO_ON;
}

static next_t cmd_rcpt(session_t *s, const char *arg)
{
    const char *params = NULL;
    char to[SMTP_ADDRESS_MAX + 1];
    if (!s->in_mail)
        refuse(s, "503 5.5.1 Need MAIL before RCPT");
    else if (path_parse(arg, "TO:", to, &params, 0) != 0)
        refuse(s, "501 5.1.3 Syntax: RCPT TO:<address>");
    else if (*params != '\0')
        refuse(s, "555 5.5.4 Unsupported RCPT parameter");
    else if (s->recipient_count == SMTP_RECIPIENTS_MAX)
        reply(s, "452 4.5.3 Too many recipients");
    else {
        bs_buf_printf(&s->recipients, "%s%s", s->recipient_count++ > 0 ? ", " : "", to);
        reply(s, "250 2.1.5 Ok");
    }
    return GO_ON;
}

static next_t cmd_data(session_t *s, const char *arg)
{
    if (arg[0] != '\0' || s->recipient_count == 0) {
        refuse(s, arg[0] != '\0' ? "501 5.5.4 Syntax: DATA"
                  : s->in_mail   ? "503 5.5.1 Need RCPT before DATA"
                                 : "503 5.5.1 Need MAIL before DATA");
        return GO_ON;
    }
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
    bs_buf_t data = BS_BUF_INIT, line = BS_BUF_INIT;
    int too_long = 0, line_too_long = 0, too_big = 0;
    next_t next = HANG_UP;
    while (read_line(s, &line, &line_too_long) == 0) {
        too_long |= line_too_long;
        if (!line_too_long && strcmp(bs_buf_cstr(&line), ".") == 0) {
            next = GO_ON;
            break;
        }
        const char *text = bs_buf_cstr(&line) + (line.data[0] == '.'); /* dot-unstuffing */
        size_t n = strlen(text);
        if (data.len + n + 2 > SMTP_MESSAGE_MAX)
            too_big = 1;
        else if (!too_big) {
            bs_buf_append(&data, text, n);
            bs_buf_puts(&data, "\r\n");
        }
    }
    if (next == GO_ON) {
        if (too_long || too_big)
            reply(s, too_long ? "500 5.5.2 Line too long" : "552 5.3.4 Message size exceeds the limit");
        else
            accept_message(s, &data);
        transaction_reset(s);
    }
    bs_buf_free(&data);
    bs_buf_free(&line);
    return next;
}

/* RSET, NOOP and QUIT take no argument (NOOP's is ignored, RFC 5321 4.1.1.9). */
static next_t cmd_simple(session_t *s, const char *verb, const char *arg)
{
    if (strcasecmp(verb, "NOOP") == 0) {
        reply(s, "250 2.0.0 Ok");
        return GO_ON;
    }
    if (arg[0] != '\0') {
        refuse(s, "501 5.5.4 No parameters allowed");
        return GO_ON;
    }
    if (strcasecmp(verb, "QUIT") == 0) {
        reply(s, "221 2.0.0 Bye");
        return HANG_UP;
    }
    transaction_reset(s);
    reply(s, "250 2.0.0 Ok");
    return GO_ON;
}

static next_t dispatch(session_t *s, const char *line)
{
    static const char *const not_implemented[] = {"VRFY", "EXPN", "HELP", "TURN", "ETRN", "BDAT", "ATRN", NULL};
    char verb[16] = "";
    size_t n = strcspn(line, " ");
    const char *arg = line[n] == ' ' ? line + n + 1 : "";
    if (n < sizeof(verb))
        memcpy(verb, line, n), verb[n] = '\0';
    if (strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "HELO") == 0)
        return cmd_ehlo(s, arg, strcasecmp(verb, "EHLO") == 0);
    if (strcasecmp(verb, "STARTTLS") == 0)
        return cmd_starttls(s, arg);
    if (strcasecmp(verb, "AUTH") == 0)
        return cmd_auth(s, arg);
    if (strcasecmp(verb, "MAIL") == 0)
        return cmd_mail(s, arg);
    if (strcasecmp(verb, "RCPT") == 0)
        return cmd_rcpt(s, arg);
    if (strcasecmp(verb, "DATA") == 0)
        return cmd_data(s, arg);
    if (strcasecmp(verb, "RSET") == 0 || strcasecmp(verb, "NOOP") == 0 || strcasecmp(verb, "QUIT") == 0)
        return cmd_simple(s, verb, arg);
    for (const char *const *v = not_implemented; *v != NULL; v++)
        if (strcasecmp(verb, *v) == 0) {
            refuse(s, "502 5.5.1 Command not implemented");
            return GO_ON;
        }
    refuse(s, "500 5.5.2 Command unrecognized");
    return GO_ON;
}

/* ---- sessions ------------------------------------------------------------------------------------ */

static void session_run(session_t *s)
{
    bs_buf_t line = BS_BUF_INIT;
    int too_long = 0;
    reply(s, "220 banksim ESMTP ready");
    while (!atomic_load(&bs_stopping) && read_line(s, &line, &too_long) == 0) {
        next_t next = too_long ? (refuse(s, "500 5.5.2 Line too long"), GO_ON) : dispatch(s, bs_buf_cstr(&line));
        if (next == HANG_UP)
            break;
        if (s->errors > SMTP_ERRORS_MAX) {
            reply(s, "421 4.7.0 Too many errors, closing the connection");
            break;
        }
    }
    bs_buf_free(&line);
}

static void *session_main(void *arg)
{
    session_t *s = arg;
    session_run(s);
    if (s->ssl != NULL) {
        SSL_shutdown(s->ssl);
        SSL_free(s->ssl);
    }
    pthread_mutex_lock(&relay.lock);
    relay.fds[s->slot] = -1; /* before the close: stop shuts down registered sockets only */
    relay.active--;
    pthread_cond_broadcast(&relay.ended);
    pthread_mutex_unlock(&relay.lock);
    close(s->fd);
    bs_buf_free(&s->recipients);
    free(s);
    return NULL;
}

static void session_start(int fd)
{
    struct timeval idle = {SMTP_IDLE_TIMEOUT_S, 0}, send_timeout = {SMTP_SEND_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
    pthread_mutex_lock(&relay.lock);
    int slot = -1;
    for (int i = 0; i < SMTP_CONNECTIONS_MAX && slot < 0; i++)
        if (relay.fds[i] == -1)
            slot = i;
    if (slot < 0) {
        pthread_mutex_unlock(&relay.lock);
        static const char busy[] = "421 4.7.0 Too many connections, try again later\r\n";
        (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
        close(fd);
        return;
    }
    session_t *s = bs_calloc(1, sizeof(*s));
    s->fd = fd;
    s->slot = slot;
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, session_main, s) != 0) {
        close(fd);
        free(s);
    } else {
        relay.fds[slot] = fd;
        relay.active++;
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_unlock(&relay.lock);
}

static void *acceptor_main(void *arg)
{
    while (!atomic_load(&bs_stopping)) {
        struct pollfd p = {.fd = relay.listen_fd, .events = POLLIN};
        if (poll(&p, 1, SMTP_ACCEPT_POLL_MS) <= 0)
            continue;
        int fd = accept4(relay.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            session_start(fd);
    }
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------------- */

static int tls_open(void)
{
    if (bs_config.smtp_tls_cert == NULL)
        return 0;
    relay.tls = SSL_CTX_new(TLS_server_method());
    if (relay.tls == NULL || SSL_CTX_set_min_proto_version(relay.tls, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(relay.tls, bs_config.smtp_tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(relay.tls, bs_config.smtp_tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(relay.tls) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof(err));
        fprintf(stderr, "banksim: cannot load --smtp-tls-cert %s / --smtp-tls-key %s: %s\n", bs_config.smtp_tls_cert,
                bs_config.smtp_tls_key, err);
        return -1;
    }
    return 0;
}

int bs_smtp_open(void)
{
    char host[256];
    const char *arg = bs_config.smtp_listen, *colon = strrchr(arg, ':');
    for (int i = 0; i < SMTP_CONNECTIONS_MAX; i++)
        relay.fds[i] = -1;
    if (colon == NULL || (size_t)(colon - arg) >= sizeof(host)) {
        fprintf(stderr, "banksim: bad --smtp-listen \"%s\"\n", arg);
        return -1;
    }
    const char *h = arg, *h_end = colon;
    if (*h == '[' && h_end > h && h_end[-1] == ']')
        h++, h_end--;
    memcpy(host, h, (size_t)(h_end - h));
    host[h_end - h] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    int rc = getaddrinfo(host[0] != '\0' ? host : NULL, colon + 1, &hints, &ai), on = 1;
    if (rc != 0) {
        fprintf(stderr, "banksim: cannot resolve %s: %s\n", arg, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage bound;
    socklen_t len = sizeof(bound);
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &len) != 0) {
        fprintf(stderr, "banksim: cannot listen on %s: %s\n", arg, strerror(errno));
        if (fd != -1)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    bs_config.smtp_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                            : ((struct sockaddr_in *)&bound)->sin_port);
    relay.listen_fd = fd;
    return tls_open();
}

void bs_smtp_start(void)
{
    if (pthread_create(&relay.acceptor, NULL, acceptor_main, NULL) != 0) {
        fputs("banksim: cannot start the SMTP relay's thread\n", stderr);
        abort();
    }
    relay.started = 1;
}

void bs_smtp_stop(void)
{
    if (!relay.started)
        return;
    pthread_join(relay.acceptor, NULL);
    close(relay.listen_fd);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SMTP_STOP_WAIT_S;
    pthread_mutex_lock(&relay.lock);
    for (int i = 0; i < SMTP_CONNECTIONS_MAX; i++)
        if (relay.fds[i] != -1)
            shutdown(relay.fds[i], SHUT_RDWR);
    int rc = 0;
    while (relay.active > 0 && rc == 0)
        rc = pthread_cond_timedwait(&relay.ended, &relay.lock, &deadline);
    int ended = relay.active == 0;
    pthread_mutex_unlock(&relay.lock);
    if (ended && relay.tls != NULL)
        SSL_CTX_free(relay.tls); /* a session still running may use it */
}
