/* common.h - error codes, logging sink and small helpers shared by every Vigil component. */
#ifndef VIGIL_COMMON_H
#define VIGIL_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * Errors: functions return 0 on success and a negative value on failure.
 * -errno values are OS errors; the project's own codes live below VG_ERR_BASE
 * so they never collide with errno. vg_strerror() names both kinds.
 */
#define VG_ERR_BASE      (-10000)
#define VG_ENOMEM        (VG_ERR_BASE - 1)  /* allocation failed */
#define VG_EPARSE        (VG_ERR_BASE - 2)  /* malformed input (JSON, XML, YAML...) */
#define VG_ETRUNC        (VG_ERR_BASE - 3)  /* input ended in the middle of a value */
#define VG_ELIMIT        (VG_ERR_BASE - 4)  /* a configured size or depth limit was hit */
#define VG_EFORMAT       (VG_ERR_BASE - 5)  /* well-formed, but not a format we understand */
#define VG_EUNSUPPORTED  (VG_ERR_BASE - 6)  /* a documented unsupported feature */
#define VG_EINVAL        (VG_ERR_BASE - 7)  /* invalid argument or configuration */
#define VG_ENOTFOUND     (VG_ERR_BASE - 8)  /* a named thing does not exist */
#define VG_EEVTX         (VG_ERR_BASE - 9)  /* libevtx reported an error */
#define VG_EOF_          (VG_ERR_BASE - 10) /* no more data (not an error for callers that loop) */

/* Returns a static string describing err (a VG_E* code or -errno). Never NULL. */
const char *vg_strerror(int err);

/* Log levels, most severe first. */
enum vg_log_level {
	VG_LOG_ERROR = 0,
	VG_LOG_WARN = 1,
	VG_LOG_INFO = 2,
	VG_LOG_DEBUG = 3,
};

/*
 * Libraries never print: every diagnostic goes through one sink. The default
 * sink writes "vigil: <level>: <message>" to stderr for levels <= the
 * threshold set with vg_log_set_level() (default WARN).
 */
typedef void (*vg_log_fn)(enum vg_log_level level, const char *msg, void *ctx);
void vg_log_set_sink(vg_log_fn fn, void *ctx);
void vg_log_set_level(enum vg_log_level max_level);
void vg_log(enum vg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Allocation helpers that abort-free: they return NULL on failure like malloc. */
void *vg_malloc(size_t n);
void *vg_calloc(size_t n, size_t size);
void *vg_realloc(void *p, size_t n);
char *vg_strndup(const char *s, size_t n);
char *vg_strdup(const char *s);

/* ASCII case-insensitive helpers (Windows paths and Sigma matching are ASCII-folded). */
static inline unsigned char vg_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
int vg_strcaseeq(const char *a, const char *b);
int vg_strncaseeq(const char *a, const char *b, size_t n);
/* Returns a pointer to the first case-insensitive occurrence of needle in hay, or NULL. */
const char *vg_strcasestr_n(const char *hay, size_t hay_len, const char *needle, size_t needle_len);
int vg_ends_with_ci(const char *s, size_t n, const char *suffix);
int vg_starts_with_ci(const char *s, size_t n, const char *prefix);

/* 64-bit FNV-1a over bytes, and an ASCII case-folded variant. */
uint64_t vg_hash_bytes(const void *p, size_t n);
uint64_t vg_hash_bytes_ci(const void *p, size_t n);

/*
 * Parses an ISO-8601 / Sysmon UtcTime timestamp ("2025-11-26T05:11:27.927693Z",
 * "2025-11-26 05:11:27.908") into nanoseconds since the Unix epoch (UTC).
 * Returns 0 on success, VG_EPARSE if the text is not a timestamp.
 */
int vg_time_parse(const char *s, size_t n, int64_t *out_ns);
/* Formats ns as "YYYY-MM-DDTHH:MM:SS.mmmmmmZ" into buf (>= 32 bytes). Returns buf. */
char *vg_time_format(int64_t ns, char *buf, size_t len);

#endif /* VIGIL_COMMON_H */
