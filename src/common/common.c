/* common.c - error strings, the logging sink, allocation and ASCII string helpers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"

const char *vg_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case VG_ENOMEM: return "out of memory";
	case VG_EPARSE: return "malformed input";
	case VG_ETRUNC: return "truncated input";
	case VG_ELIMIT: return "size or depth limit exceeded";
	case VG_EFORMAT: return "unrecognised format";
	case VG_EUNSUPPORTED: return "unsupported feature";
	case VG_EINVAL: return "invalid argument";
	case VG_ENOTFOUND: return "not found";
	case VG_EEVTX: return "EVTX decoding error";
	case VG_EOF_: return "end of input";
	}
	if (err < 0 && err > VG_ERR_BASE)
		return strerror(-err);
	return "unknown error";
}

static vg_log_fn log_fn;
static void *log_ctx;
static enum vg_log_level log_max = VG_LOG_WARN;

void vg_log_set_sink(vg_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void vg_log_set_level(enum vg_log_level max_level)
{
	log_max = max_level;
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char msg[2048];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn) {
		log_fn(level, msg, log_ctx);
		return;
	}
	fprintf(stderr, "vigil: %s: %s\n", names[level], msg);
}

void *vg_malloc(size_t n) { return malloc(n ? n : 1); }
void *vg_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *vg_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

char *vg_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *vg_strdup(const char *s)
{
	return s ? vg_strndup(s, strlen(s)) : NULL;
}

int vg_strcaseeq(const char *a, const char *b)
{
	while (*a && vg_lower((unsigned char)*a) == vg_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return vg_lower((unsigned char)*a) == vg_lower((unsigned char)*b);
}

int vg_strncaseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vg_lower((unsigned char)a[i]) != vg_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

const char *vg_strcasestr_n(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	if (needle_len == 0)
		return hay;
	if (needle_len > hay_len)
		return NULL;
	unsigned char first = vg_lower((unsigned char)needle[0]);
	unsigned char first_up = (first >= 'a' && first <= 'z') ? (unsigned char)(first - 32) : first;
	const char *end = hay + hay_len - needle_len + 1;
	const char *p = hay;

	while (p < end) {
		/* jump to the next candidate with memchr on both cases of the first byte */
		const char *a = memchr(p, first, (size_t)(end - p));
		const char *b = first_up != first ? memchr(p, first_up, (size_t)(a ? a - p : end - p)) : NULL;
		const char *c = b ? b : a;
		if (!c)
			return NULL;
		if (vg_strncaseeq(c + 1, needle + 1, needle_len - 1))
			return c;
		p = c + 1;
	}
	return NULL;
}

int vg_ends_with_ci(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && vg_strncaseeq(s + n - m, suffix, m);
}

int vg_starts_with_ci(const char *s, size_t n, const char *prefix)
{
	size_t m = strlen(prefix);
	return n >= m && vg_strncaseeq(s, prefix, m);
}

uint64_t vg_hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Case-insensitive hash, eight bytes at a time: OR-ing 0x20 into every byte
 * maps 'A'..'Z' onto 'a'..'z' (and some punctuation pairs onto each other,
 * which only adds collisions), so strings equal under ASCII case folding hash
 * alike. Field names and GUIDs are hashed on every event: this is hot.
 */
uint64_t vg_hash_bytes_ci(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;

	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ (w | 0x2020202020202020ULL)) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
		b += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, b, n);
		h = (h ^ (w | (0x2020202020202020ULL >> (8 * (8 - n))))) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
	}
	return h ^ (h >> 32);
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
	int v = 0;

	if (at + count > n)
		return -1;
	for (size_t i = 0; i < count; i++) {
		char c = s[at + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int vg_time_parse(const char *s, size_t n, int64_t *out_ns)
{
	int y, mo, d, h, mi, sec;
	size_t i = 19;
	int64_t frac = 0;
	int fd = 0;

	if (digits(s, n, 0, 4, &y) || n < 19 || s[4] != '-' || digits(s, n, 5, 2, &mo) ||
	    s[7] != '-' || digits(s, n, 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s, n, 11, 2, &h) || s[13] != ':' || digits(s, n, 14, 2, &mi) ||
	    s[16] != ':' || digits(s, n, 17, 2, &sec))
		return VG_EPARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return VG_EPARSE;
	if (i < n && (s[i] == '.' || s[i] == ',')) {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (fd < 9) {
				frac = frac * 10 + (s[i] - '0');
				fd++;
			}
			i++;
		}
		for (; fd < 9; fd++)
			frac *= 10;
	}
	int64_t offset_s = 0;
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		int oh = 0, om = 0;
		int sign = s[i] == '-' ? -1 : 1;
		if (digits(s, n, i + 1, 2, &oh) == 0) {
			size_t j = i + 3;
			if (j < n && s[j] == ':')
				j++;
			digits(s, n, j, 2, &om);
			offset_s = sign * (oh * 3600 + om * 60);
		}
	}
	int64_t days = days_from_civil(y, mo, d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
	/* +-2^62 ns (years 1824-2116): the difference of any two times still fits in int64 */
	if (secs > 4611686017LL || secs < -4611686017LL)
		return VG_EPARSE;
	*out_ns = secs * 1000000000LL + frac;
	return 0;
}

char *vg_time_format(int64_t ns, char *buf, size_t len)
{
	int64_t secs = ns / 1000000000LL, rem = ns % 1000000000LL;
	if (rem < 0) {
		rem += 1000000000LL;
		secs--;
	}
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	/* civil_from_days */
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp + (mp < 10 ? 3 : -9);
	y += m <= 2;
	snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%06lldZ", (long long)y,
		 (long long)m, (long long)d, (long long)(sod / 3600), (long long)(sod % 3600 / 60),
		 (long long)(sod % 60), (long long)(rem / 1000));
	return buf;
}
