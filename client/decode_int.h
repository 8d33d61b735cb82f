/* decode_int.h - internals shared by client/decode*.c (and their unit
 * tests). Includes <jansson.h>; never include it outside decode*.c and
 * tests/unit/test_decode_*.c.
 */
#ifndef RECFS_DECODE_INT_H
#define RECFS_DECODE_INT_H

#include "decode.h"

#include <jansson.h>
#include <stdbool.h>

/* Cap of user-supplied text (edits, creates). */
#define DEC_MAX_TEXT (1024 * 1024)
/* Cap of one pretty-printed document or request body we produce. */
#define DEC_MAX_OUT ((size_t)256 * 1024 * 1024)
/* Annotation.description limit (S26: "Maximum character limit is 500"). */
#define DEC_MAX_DESCRIPTION 500

/* ---- errors ---- */

/* Record an error (first error wins: nothing happens when err is NULL or
 * already holds one). field may be NULL. Returns rc. */
enum api_rc dec_fail(struct api_error *err, enum api_rc rc,
                     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- parsing ---- */

/* Parse untrusted JSON. user != 0: user text (JSON_REJECT_DUPLICATES,
 * failures are API_EINVAL, len <= DEC_MAX_TEXT, a leading UTF-8 BOM is
 * skipped, any JSON value is accepted); else a server body (an object or
 * array; failures API_EPROTO). Nesting deeper than
 * DEC_MAX_DEPTH is refused. Jansson running out of memory is API_ENOMEM.
 * *out is a new reference on success, NULL on failure. */
enum api_rc dec_load(const char *buf, size_t len, int user, json_t **out,
                     struct api_error *err);

/* 1 if v nests deeper than max levels (an object/array is one level). */
int dec_too_deep(const json_t *v, int max);

/* Remove volatile members recursively: "mediaUris", "contentLocationUri"
 * and any string that looks like a pre-signed URL (object members and
 * array elements). Never allocates. */
void dec_strip_volatile(json_t *v);
/* 1 if s looks like a pre-signed URL (a query string carrying a
 * signature: "Signature=", "X-Amz-", "sig="). */
int dec_is_presigned(const char *s);

/* Deep equality, key order irrelevant; numbers compare by value (1 ==
 * 1.0, reals with a 1e-9 relative tolerance, so a round trip through
 * another tool's float printing is not a change). */
bool dec_equal(const json_t *a, const json_t *b);

/* ---- output (malloc'd, caller frees with free()) ---- */

/* 2-space indented JSON plus a trailing newline. NULL on ENOMEM. */
char *dec_pretty(const json_t *v, size_t *len);
/* Compact JSON. NULL on ENOMEM. */
char *dec_compact(const json_t *v);
/* strdup of a string member, NULL if absent/not a string or on ENOMEM
 * (*oom set to 1 then). */
char *dec_strdup_member(const json_t *obj, const char *key, int *oom);

/* ---- entries, listings ---- */

/* The C fields of an entry of kind from document d (json, raw: NULL).
 * API_EPROTO (not an object, no valid id where one is required) or
 * API_ENOMEM; *out cleared on failure. */
enum api_rc dec_entry_fields(enum api_kind kind, const json_t *d,
                             struct api_entry *out, struct api_error *err);
/* Append the entry of entity ent (element index of a listing) to out
 * (room made by the caller), raw = the entity's text (or NULL: ent
 * printed compact). An entity that does not decode is skipped with a
 * warning (API_OK); API_ENOMEM is the only failure. */
enum api_rc dec_list_entity(enum api_kind kind, const json_t *ent,
                            const char *raw, size_t raw_len, size_t index,
                            struct api_list *out, struct api_error *err);

/* The jansson path of dec_list_append (the one that words the errors),
 * for the tests that compare both paths. On failure entries may have
 * been appended (dec_list_append drops them). */
enum api_rc dec_list_append_tree(enum api_kind kind, const char *body,
                                 size_t len, struct api_list *out,
                                 size_t max_entries, struct dec_page *pg,
                                 struct api_error *err);

/* ---- the scanner (decode_scan.c) ---- */

/* 1 when buf is JSON that dec_load() (server body) certainly accepts;
 * 0 when it is not, or the scanner is not sure. Never allocates. */
int dec_scan_valid(const char *buf, size_t len);
/* The fast path of dec_list_append: 1 when it answered (*rc; entries may
 * be appended even on failure, the caller drops them), 0 when it is not
 * sure and the jansson path must decode the page. */
int dec_scan_list(enum api_kind kind, const char *body, size_t len,
                  struct api_list *out, size_t max_entries,
                  struct dec_page *page, enum api_rc *rc,
                  struct api_error *err);

/* ---- dates ---- */

/* Parse ISO-8601 / RFC 3339 date-time "YYYY-MM-DDTHH:MM:SS[.frac][Z|+HH:MM
 * |+HHMM]" (T may be 't' or ' '). Without a zone the time is UTC unless
 * require_zone, which makes it an error. Fields are range-checked.
 * Returns 0 and *t (seconds, UTC) and *ms (millis, may be NULL), or -1. */
int dec_parse_time(const char *s, int require_zone, time_t *t, int *ms);
/* Date member as time_t, 0 when absent or unparsable. */
time_t dec_time_member(const json_t *obj, const char *key);

/* ---- models (decode_models.c) ---- */

enum dec_type {
    DEC_T_ANY,
    DEC_T_STRING,
    DEC_T_ID,     /* string accepted by api_id_valid() */
    DEC_T_DATE,   /* ISO-8601 date-time string with zone */
    DEC_T_INT,
    DEC_T_NUMBER,
    DEC_T_BOOL,
    DEC_T_ENUM,   /* string out of field->enums */
    DEC_T_OBJECT,
    DEC_T_ARRAY,
};

#define DEC_F_RO 0x1u   /* read-only (server-owned) */
#define DEC_F_W 0x2u    /* writable by an edit / allowed on create */
#define DEC_F_NULL 0x4u /* null is accepted */
#define DEC_F_REQ 0x8u  /* required on create */

struct dec_field {
    const char *name;
    enum dec_type type;
    unsigned flags;
    const char *const *enums; /* DEC_T_ENUM: NULL-terminated */
    size_t max_chars;         /* strings: max characters, 0 = no limit */
    long long min, max;       /* DEC_T_INT bounds (min == max: none) */
};

struct dec_model {
    const char *name; /* swagger definition name */
    const struct dec_field *fields;
    size_t n_fields;
    int read_only; /* no edit may change anything */
};

/* The model of kind, never NULL for a valid kind (NULL otherwise). */
const struct dec_model *dec_model_get(enum api_kind kind);
/* The request model for create of kind, NULL when kind is not creatable
 * this way. */
const struct dec_model *dec_create_model_get(enum api_kind kind);
/* The OrphanUpdateRequest / ScreenRecordingSessionRequest models. */
const struct dec_model *dec_orphan_request_model(void);
const struct dec_model *dec_screen_request_model(void);
/* Field of m named name, or NULL. */
const struct dec_field *dec_model_field(const struct dec_model *m,
                                        const char *name);

/* Check v against f's type. Returns API_OK or API_EINVAL with err naming
 * the field ("field 'read' must be a boolean"). */
enum api_rc dec_check_type(const struct dec_field *f, const json_t *v,
                           struct api_error *err);

#endif
