/*
 * banksim.h - the bank simulator's modules: one program that plays VNPay, MoMo
 * and SePay over real HTTP for feegate's tests and demos.
 *
 * It is an independent implementation of the protocols in PROTOCOLS.md: it
 * shares no code with feegate's adapters, so a misreading on either side shows
 * up as a failed signature instead of cancelling out.
 *
 * Threads: one h2o event loop serves every request; handlers that must wait
 * (notification deliveries, simulated slow answers) finish on a worker thread
 * and hand their answer back to the loop.  Simulator state lives behind
 * bs_state_lock; the log, the chaos settings and the recorded messages have
 * their own locks.  The SMTP relay has its own threads (smtp.c).
 */
#ifndef BANKSIM_H
#define BANKSIM_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <yajl/yajl_tree.h>

/* ---- limits --------------------------------------------------------------- */

/* Request bodies: the largest provider request is a few hundred bytes; 1 MiB
 * leaves room for any control call. */
#define BS_BODY_MAX (1024 * 1024)
/* Query or form parameters per request: VNPay sends 13, MoMo 12. */
#define BS_PARAMS_MAX 64
/* Duplicates per notification: more would only measure the machine. */
#define BS_DUPLICATE_MAX 64
/* Simulated provider latency: longer than every client timeout in feegate
 * (MoMo asks for >= 30 s) so that a timeout can be provoked. */
#define BS_DELAY_MAX_MS 120000
/* Log entries kept; the oldest go first. */
#define BS_LOG_MAX 10000
/* Outbound requests: connect and total timeouts (MoMo answers IPNs in 15 s). */
#define BS_CONNECT_TIMEOUT_MS 5000
#define BS_REQUEST_TIMEOUT_MS 30000
/* Bodies of answers recorded in the log and reported to control callers. */
#define BS_ANSWER_BODY_MAX (64 * 1024)
/* GMT+7: VNPay dates, SePay dates and the statements' business day. */
#define BS_TZ_OFFSET_S (7 * 3600)
/* MoMo's documented amount range, VND. */
#define BS_MOMO_AMOUNT_MIN 1000
#define BS_MOMO_AMOUNT_MAX 50000000
/* The collection account's balance before the simulator's first booking
 * (the samples open at 100,000,000 VND too). */
#define BS_OPENING_BALANCE_DEFAULT 100000000
/* Statement chaos names lines by their position in the file: a bigger number
 * is a typo in a test, not a scenario. */
#define BS_STATEMENT_LINE_MAX 100000
/* Order codes a transfer's memo may name (a payer paying for a few bills at
 * once), and the longest code accepted. */
#define BS_TRANSFER_CODES_MAX 8
#define BS_ORDER_CODE_MAX 32
/* Room for the codes, space-separated. */
#define BS_CODES_CAP (BS_TRANSFER_CODES_MAX * (BS_ORDER_CODE_MAX + 1))
/* Fee schedules: at most 100 % plus a fixed part of a billion VND. */
#define BS_FEE_BP_MAX 10000
#define BS_FEE_FIXED_MAX INT64_C(1000000000)

/* Reminder messages kept (every channel together), and the bytes they may
 * hold: a test sends tens; the byte bound keeps a runaway sender of 1 MiB
 * e-mails from exhausting the machine.  A full store refuses new messages. */
#define BS_MESSAGES_MAX 10000
#define BS_MESSAGES_BYTES_MAX (128 * 1024 * 1024)
/* Idempotency keys (RequestId, tracking_id, Message-ID) longer than this are
 * refused: every provider's own limit is far below. */
#define BS_MESSAGE_KEY_MAX 255

_Static_assert(BS_DELAY_MAX_MS > BS_REQUEST_TIMEOUT_MS, "a delay must be able to outlast a client timeout");

/* ---- growable byte buffer (NUL-terminated, aborts when out of memory) ------ */

typedef struct {
    char *data;
    size_t len, cap;
} bs_buf_t;

/* brace initialiser macros stay as written (clang-format 14 would unfold them) */
/* clang-format off */
#define BS_BUF_INIT                                                                                                    \
    {                                                                                                                  \
        NULL, 0, 0                                                                                                     \
    }
/* clang-format on */

void bs_buf_append(bs_buf_t *b, const void *p, size_t n);
void bs_buf_puts(bs_buf_t *b, const char *s);
void bs_buf_putc(bs_buf_t *b, char c);
void bs_buf_printf(bs_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** The contents as a C string ("" when empty); owned by the buffer. */
const char *bs_buf_cstr(bs_buf_t *b);
void bs_buf_free(bs_buf_t *b);
/** Hands the contents to the caller (free() them) and empties the buffer. */
char *bs_buf_take(bs_buf_t *b);

/* ---- memory ---------------------------------------------------------------- */

void *bs_malloc(size_t n);
void *bs_calloc(size_t count, size_t n);
char *bs_strdup(const char *s);
char *bs_strndup(const char *s, size_t n);

/* ---- text encodings -------------------------------------------------------- */

/** Appends s as a JSON string literal (quotes included). */
void bs_json_str(bs_buf_t *b, const char *s);
void bs_json_strn(bs_buf_t *b, const char *s, size_t n);
/** Appends s with & < > " ' escaped, for HTML and XML text and attributes. */
void bs_xml_escape(bs_buf_t *b, const char *s);
/** Appends s form-encoded the VNPay way: space -> '+', every byte but
 * A-Z a-z 0-9 - _ . -> %XX (upper-case hex). */
void bs_form_encode(bs_buf_t *b, const char *s);
/** Decodes %XX and '+' of s[0..n); the result is malloc'd. */
char *bs_url_decode(const char *s, size_t n);

/** Decoded name=value pairs of a query string or form body. */
typedef struct {
    int count;
    char *names[BS_PARAMS_MAX];
    char *values[BS_PARAMS_MAX];
} bs_params_t;

/** Parses "a=1&b=2" (n bytes); extra pairs beyond BS_PARAMS_MAX are dropped. */
void bs_params_parse(bs_params_t *p, const char *s, size_t n);
/** The first value of name, or NULL. */
const char *bs_params_get(const bs_params_t *p, const char *name);
void bs_params_free(bs_params_t *p);

/* ---- crypto ---------------------------------------------------------------- */

/** Lower-case hex HMAC-SHA512 / HMAC-SHA256 of msg; out holds 129 / 65 bytes. */
void bs_hmac_sha512_hex(const char *key, const char *msg, size_t len, char out[129]);
void bs_hmac_sha256_hex(const char *key, const char *msg, size_t len, char out[65]);
/** 1 when the two strings are equal, in time independent of their contents. */
int bs_equal_ct(const char *a, const char *b);
/** Flips the first hex digit of a signature so that it no longer verifies. */
void bs_forge_hex(char *sig);

/* ---- time and identifiers -------------------------------------------------- */

int64_t bs_now_ms(void);
/** Formats ms (UTC epoch) shifted to GMT+7 with strftime's fmt. */
void bs_format_gmt7(int64_t ms, const char *fmt, char *out, size_t cap);
/** The GMT+7 business date "YYYY-MM-DD" of ms. */
void bs_business_date(int64_t ms, char out[11]);
/** 1 when s is a valid "YYYY-MM-DD". */
int bs_date_valid(const char *s);
/** The next number of the one sequence behind every provider transaction
 * number, transId and SePay id.  It starts from the clock, so a restarted
 * simulator does not reuse the numbers feegate already recorded. */
int64_t bs_next_id(void);
/** Sleeps ms, returning early (1) when the simulator is stopping. */
int bs_sleep_ms(int64_t ms);

/* ---- JSON input (yajl tree) ------------------------------------------------ */

/** The string member name of obj, or NULL. */
const char *bs_json_get_str(yajl_val obj, const char *name);
/** Integer member (a JSON integer or a string of digits) into *out; 0 on
 * success, -1 when absent or not an integer. */
int bs_json_get_int(yajl_val obj, const char *name, int64_t *out);
/** Boolean member; dflt when absent. */
int bs_json_get_bool(yajl_val obj, const char *name, int dflt);
/** Parses body (n bytes, not NUL-terminated); NULL unless it is an object. */
yajl_val bs_json_parse_object(const char *body, size_t n);

/* ---- configuration --------------------------------------------------------- */

typedef struct {
    char listen_host[256];
    int port;           /* the bound port, known after listening */
    char base_url[300]; /* http://host:port, for pay URLs */
    char feegate_url[1024];
    char statement_dir[1024];
    const char *vnpay_tmn_code, *vnpay_hash_secret;
    const char *momo_partner_code, *momo_access_key, *momo_secret_key;
    const char *sepay_api_key;
    const char *vietqr_bank_bin, *vietqr_account_no;
    int64_t opening_balance;
    /* reminder channels (option values; the pointers are argv's) */
    const char *esms_api_key, *esms_secret_key, *esms_brandname;
    const char *zalo_access_token;
    const char *smtp_listen;                  /* NULL: no SMTP relay */
    const char *smtp_tls_cert, *smtp_tls_key; /* NULL: no STARTTLS */
    const char *smtp_user, *smtp_password;    /* NULL: no AUTH */
    int smtp_port;                            /* the bound port */
} bs_config_t;

extern bs_config_t bs_config;
/** Set when SIGTERM/SIGINT arrived: sleeps and transfers end early. */
extern atomic_int bs_stopping;
/** Guards the providers' transactions and the bookings. */
extern pthread_mutex_t bs_state_lock;

/* ---- requests and answers -------------------------------------------------- */

/** A request, copied out of h2o so that it can travel to a worker thread. */
typedef struct {
    char *method;
    char *path;  /* without the query */
    char *query; /* raw, after '?'; "" when none */
    char *body;  /* NUL-terminated copy */
    size_t body_len;
    char *authorization; /* NULL when absent */
    char *content_type;  /* NULL when absent */
    char *access_token;  /* Zalo's "access_token" header; NULL when absent */
} bs_request_t;

typedef struct bs_response bs_response_t;

/** Work a handler leaves for a worker thread; it fills res. */
typedef void (*bs_work_fn)(const bs_request_t *req, bs_response_t *res);

struct bs_response {
    int status;
    const char *content_type; /* static string */
    bs_buf_t body;
    char *location;   /* malloc'd; a Location header when set */
    int64_t delay_ms; /* the answer waits this long (chaos) */
    bs_work_fn work;  /* when set, runs on a worker before the answer */
};

typedef void (*bs_handler_fn)(const bs_request_t *req, bs_response_t *res);

extern const char BS_JSON_TYPE[];
extern const char BS_HTML_TYPE[];
extern const char BS_TEXT_TYPE[];
extern const char BS_XML_TYPE[];
extern const char BS_CSV_TYPE[];

/** Sets a JSON answer {"error":msg}. */
void bs_res_error(bs_response_t *res, int status, const char *msg);
/** Sets a JSON answer to the given text. */
void bs_res_json(bs_response_t *res, int status, const char *json);
/** An HTML page with a title and a paragraph (both escaped). */
void bs_res_page(bs_response_t *res, int status, const char *title, const char *text);

/* ---- chaos: misbehaviour applied until reset -------------------------------- */

/* The gateways that settle in batches, net of their fees. */
typedef enum { BS_GATEWAY_NONE, BS_GATEWAY_VNPAY, BS_GATEWAY_MOMO, BS_GATEWAY_COUNT } bs_gateway_t;

typedef struct {
    int duplicate;        /* each notification is sent this many times (>= 1) */
    int concurrent;       /* duplicates go out at once on separate connections */
    int reorder;          /* an approval is followed by a stale failure */
    int forge;            /* notifications carry a broken signature */
    int64_t amount_delta; /* the payer pays (and the notice says) this much more */
    int lose_ipn;         /* the notification is never sent */
    int64_t delay_ms;     /* API answers are this slow */
    int fail_api;         /* API answers are HTTP 500 */
    int lose_answer;      /* API calls take effect, but answer HTTP 500 */
    int refund_result;    /* MoMo refunds are made but answer this (signed)
                             resultCode, e.g. 7000 "processing"; 0 = normal */
    /* Statements (applied whenever one is rendered; positions count the
     * file's lines from 1, a position past the end names the last line): */
    int statement_duplicate_line;           /* this line listed twice; the closing stays the bank's */
    int statement_missing_line;             /* this line left out; the closing stays the bank's */
    int statement_overlap;                  /* the last N lines before the day repeated first */
    int64_t statement_wrong_amount;         /* a line's amount off by this, the balances following */
    int statement_wrong_amount_line;        /* that line (1 unless given) */
    int statement_rewrite;                  /* memos as banks rewrite them */
    int statement_balanced;                 /* a missing or duplicated line is real: the balances after it and
                                               the closing follow it, so the file balances */
    char statement_two_codes[BS_CODES_CAP]; /* the next incoming transfer's memo names
                                               these codes too ("" = off); used once */
    /* Gateway settlements (applied whenever a payout line or settlement file
     * of a day is rendered; the payout line always pays what the file lists,
     * so the day's closing moves with it, as statement_wrong_amount does): */
    int settlement_withhold[BS_GATEWAY_COUNT]; /* that gateway's file is not served (404),
                                                  its payout line still is */
    int settlement_gateway;                    /* the gateway the rows below concern;
                                                  BS_GATEWAY_NONE = both */
    int64_t settlement_unknown_row;            /* the file lists a payment of this much that no
                                                  one made (0 = off) */
    int64_t settlement_wrong_amount;           /* a payment row's amount off by this (its fee
                                                  charged on the wrong amount) */
    int settlement_wrong_amount_row;           /* that row, counting the day's payments from 1
                                                  (1 unless given) */
    int settlement_missing_row;                /* this payment of the day left out (0 = off) */
    /* Reminder channels: */
    char sms_code[4];          /* eSMS answers every SMS with this CodeResult and
                                  delivers nothing ("" = off) */
    int zalo_error;            /* ZNS answers with this (negative) error, delivers nothing */
    int smtp_code;             /* the reply to a message's final dot (400..599): nothing
                                  delivered (0 = off) */
    int64_t messages_delay_ms; /* each channel's answer is held this long, after the
                                  message was recorded (SMTP: the reply to the final dot) */
} bs_chaos_t;

/** A copy of the current settings. */
bs_chaos_t bs_chaos_get(void);
/** Sets the API answer's delay or failure; returns 1 when the answer was
 * replaced by a simulated failure (the handler must then do nothing). */
int bs_chaos_api(bs_response_t *res);
/** After an API call took effect: with lose_answer, replaces the answer by
 * HTTP 500 (the effect stays) and returns 1. */
int bs_chaos_lose_answer(bs_response_t *res);
/** Takes the codes statement_two_codes holds (copied to out, "" when none)
 * and clears the setting: they belong to one transfer. */
void bs_chaos_take_codes(char out[BS_CODES_CAP]);
/** The order codes of v (a string, or an array of strings) into out,
 * space-separated ("" when v is NULL).  Returns -1 when one is not a code
 * (empty, longer than BS_ORDER_CODE_MAX, with spaces or non-ASCII) or there
 * are more than BS_TRANSFER_CODES_MAX. */
int bs_codes_parse(yajl_val v, char out[BS_CODES_CAP]);

/* ---- log ------------------------------------------------------------------- */

/** Records one exchange; any string may be NULL. */
void bs_log_add(const char *kind, const char *direction, const char *method, const char *url, const char *request,
                int status, const char *answer, const char *note);
/** Appends {"entries":[...]} with entries whose seq > since, oldest first. */
void bs_log_render(bs_buf_t *b, int64_t since);
void bs_log_free(void);

/* ---- deliveries (libcurl) --------------------------------------------------- */

/** One outbound notification. */
typedef struct {
    const char *kind;   /* log kind, e.g. "vnpay.ipn" */
    const char *method; /* "GET" or "POST" */
    const char *url;
    const char *body;          /* NULL for GET */
    const char *content_type;  /* NULL for GET */
    const char *authorization; /* a full header value, or NULL */
} bs_notice_t;

/**
 * Sends copies times the notice (concurrently on separate connections when
 * concurrent), appending to answers one {"status":N,"body":"…"} per attempt,
 * comma-separated after any existing elements.  status 0 and an "error"
 * member mean the request failed at the transport.  Every attempt is logged.
 * Blocks: call it from a worker thread only.
 */
void bs_deliver(const bs_notice_t *notice, int copies, int concurrent, bs_buf_t *answers);

/* ---- bookings, gateway settlements and statements ------------------------- */

/** "vnpay" or "momo" -> the gateway; BS_GATEWAY_NONE for anything else. */
bs_gateway_t bs_gateway_find(const char *name);
/** "vnpay", "momo" ("bank" for BS_GATEWAY_NONE). */
const char *bs_gateway_name(bs_gateway_t g);

/** A gateway's fee: percent_bp basis points of the amount, rounded half up
 * to whole VND, plus fixed VND. */
typedef struct {
    int64_t percent_bp; /* 0..BS_FEE_BP_MAX */
    int64_t fixed;      /* 0..BS_FEE_FIXED_MAX */
} bs_fee_t;

/** Parses "vnpay:BP[:FIXED]" (the --fee option); 0 or -1 when malformed. */
int bs_fee_parse(const char *s, bs_gateway_t *g, bs_fee_t *fee);
/** Sets / reads a gateway's schedule; it applies to transactions booked from
 * then on (a transaction's fee is fixed when it is made).  Caller holds
 * bs_state_lock. */
void bs_fee_set(bs_gateway_t g, bs_fee_t fee);
bs_fee_t bs_fee_get(bs_gateway_t g);
/** The fee of amount (>= 0) under fee. */
int64_t bs_fee_of(bs_fee_t fee, int64_t amount);

/**
 * Records one money movement; amount > 0 is money in, < 0 money out.  kind
 * "vnpay", "momo" (payments) and "vnpay.refund", "momo.refund" are the
 * gateways' transactions: they reach the collection account only through the
 * gateway's daily payout (one line per gateway and day, net of the fees
 * charged on the payments).  Every other kind ("sepay") is a line on the
 * account itself.  codes (space-separated order codes, or NULL) are those the
 * memo names.  Caller holds bs_state_lock.  Returns the account's balance
 * after the booking.
 */
int64_t bs_book(int64_t at_ms, int64_t amount, const char *bank_ref, const char *end_to_end, const char *text,
                const char *kind, const char *codes);
/** The account's balance now: its own lines, and the payouts of the days
 * before today (caller holds bs_state_lock). */
int64_t bs_balance(void);
void bs_bookings_free(void);

typedef enum {
    BS_FORMAT_CAMT053,
    BS_FORMAT_CAMT054,         /* the day in one notification */
    BS_FORMAT_CAMT054_CREDITS, /* one notification per credit */
    BS_FORMAT_MT940,
    BS_FORMAT_CSV_VN, /* a Vietnamese bank's bilingual CSV export */
} bs_format_t;

/** format "camt053|camt054|mt940|csv-vn" and, for camt054, per "day"
 * (or NULL) or "credit"; -1 when unknown. */
int bs_format_find(const char *format, const char *per, bs_format_t *out);
/** The format's Content-Type. */
const char *bs_format_type(bs_format_t f);
/** Appends the account's statement of date (GMT+7) in format f, with the
 * statement chaos of c.  Caller holds bs_state_lock. */
void bs_statement_render(bs_buf_t *b, const char *date, bs_format_t f, const bs_chaos_t *c);
/** Appends gateway g's settlement file for the transactions of date: one CSV
 * row per payment and refund, the batch reference naming its payout line,
 * with the settlement chaos of c (the withholding aside: the caller's).
 * Caller holds bs_state_lock. */
void bs_settlement_render(bs_buf_t *b, const char *date, bs_gateway_t g, const bs_chaos_t *c);

/* ---- reminder messages: what eSMS, Zalo and the SMTP relay received ---------- */

typedef enum { BS_CHANNEL_EMAIL, BS_CHANNEL_SMS, BS_CHANNEL_ZALO, BS_CHANNEL_COUNT } bs_channel_t;

/** "email", "sms", "zalo" -> the channel; -1 for anything else. */
int bs_channel_find(const char *name);

/** One message as a provider received it; every string but key, id and to
 * may be NULL.  bs_message_record copies what it keeps. */
typedef struct {
    bs_channel_t channel;
    const char *key;         /* the idempotency key: RequestId, tracking_id, Message-ID */
    const char *id;          /* the provider's id for a new message: SMSID, msg_id, queue id */
    const char *to;          /* the phone number; e-mail: the recipients, ", "-separated */
    const char *from;        /* e-mail: the envelope sender */
    const char *subject;     /* e-mail: the Subject, RFC 2047 words decoded */
    const char *headers;     /* e-mail: the header section as received */
    const char *content;     /* SMS: Content; Zalo: template_data as JSON; e-mail: the body */
    const char *template_id; /* Zalo */
    int tls, auth;           /* e-mail: the session was TLS / authenticated */
} bs_message_t;

/**
 * Records m as a new message, or, when the channel already holds one with
 * m's key, as one more attempt of that one (nothing else of m is kept).  The
 * message's id (the first attempt's) goes to id_out (id_cap bytes) and its
 * first arrival (ms since the epoch) to *received_ms.  Returns 1 for a new
 * message, 0 for a repeat, -1 when the store is full (nothing recorded).
 */
int bs_message_record(const bs_message_t *m, char *id_out, size_t id_cap, int64_t *received_ms)
    __attribute__((warn_unused_result));
/** The channel's messages first received on the GMT+7 day of now. */
int bs_messages_today(bs_channel_t channel);
/** Forgets every message (POST /control/reset). */
void bs_messages_clear(void);
/** Appends v as JSON text (a yajl tree, numbers as written). */
void bs_json_render(bs_buf_t *b, yajl_val v);
/** A fresh provider id: 32 lower-case hex digits, dashed as a UUID when
 * dashed is set. */
void bs_message_id(char out[40], int dashed);

/* ---- the SMTP relay (smtp.c) ------------------------------------------------ */

/** Binds bs_config.smtp_listen and fills bs_config.smtp_port; loads the TLS
 * certificate.  Prints the reason and returns -1 when it cannot. */
int bs_smtp_open(void) __attribute__((warn_unused_result));
/** Starts the accepting thread (after bs_smtp_open). */
void bs_smtp_start(void);
/** Stops accepting, ends the sessions (bs_stopping is set) and waits for
 * their threads. */
void bs_smtp_stop(void);

/* ---- routes ----------------------------------------------------------------- */

void bs_vnpay_pay_page(const bs_request_t *req, bs_response_t *res);
void bs_vnpay_decide(const bs_request_t *req, bs_response_t *res);
void bs_vnpay_api(const bs_request_t *req, bs_response_t *res);
void bs_vnpay_control_pay(const bs_request_t *req, bs_response_t *res);
void bs_vnpay_free(void);

void bs_momo_create(const bs_request_t *req, bs_response_t *res);
void bs_momo_pay_page(const bs_request_t *req, bs_response_t *res);
void bs_momo_decide(const bs_request_t *req, bs_response_t *res);
void bs_momo_query(const bs_request_t *req, bs_response_t *res);
void bs_momo_refund(const bs_request_t *req, bs_response_t *res);
void bs_momo_refund_query(const bs_request_t *req, bs_response_t *res);
void bs_momo_control_pay(const bs_request_t *req, bs_response_t *res);
void bs_momo_free(void);

void bs_sepay_control_transfer(const bs_request_t *req, bs_response_t *res);

void bs_esms_send(const bs_request_t *req, bs_response_t *res);
void bs_zalo_send(const bs_request_t *req, bs_response_t *res);
void bs_control_messages(const bs_request_t *req, bs_response_t *res);

void bs_control_chaos(const bs_request_t *req, bs_response_t *res);
void bs_control_reset(const bs_request_t *req, bs_response_t *res);
void bs_control_log(const bs_request_t *req, bs_response_t *res);
void bs_control_statement(const bs_request_t *req, bs_response_t *res);
void bs_control_statement_write(const bs_request_t *req, bs_response_t *res);
void bs_control_settlement(const bs_request_t *req, bs_response_t *res);
void bs_control_fees(const bs_request_t *req, bs_response_t *res);

#endif
