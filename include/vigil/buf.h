/* buf.h - a growable byte buffer with JSON writing helpers, used for every JSON line Vigil emits. */
#ifndef VIGIL_BUF_H
#define VIGIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct vg_buf {
	char *p;
	size_t len, cap;
	int oom; /* set once an allocation failed; later appends are dropped */
};

void vg_buf_free(struct vg_buf *b);            /* frees memory; the struct is reusable */
void vg_buf_reset(struct vg_buf *b);           /* length to 0, memory kept */
void vg_buf_put(struct vg_buf *b, const char *s, size_t n);
void vg_buf_puts(struct vg_buf *b, const char *s);
void vg_buf_printf(struct vg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Reads a whole file: returns its bytes NUL-terminated (free()) with the length
 * in *len, or NULL with errno set (the open's or read's error, ENOMEM).
 */
char *vg_read_file(const char *path, size_t *len);
/* Writes s as a JSON string literal with quotes; NULL writes null. Invalid UTF-8 bytes become \u00XX. */
void vg_buf_json_str(struct vg_buf *b, const char *s);
void vg_buf_json_strn(struct vg_buf *b, const char *s, size_t n);
/* Writes ,"key": (the comma when *first is 0) and clears *first. */
void vg_buf_json_key(struct vg_buf *b, int *first, const char *key);
/* Key plus string value, skipped entirely when v is NULL. */
void vg_buf_json_kv(struct vg_buf *b, int *first, const char *key, const char *v);
void vg_buf_json_ku(struct vg_buf *b, int *first, const char *key, uint64_t v);
void vg_buf_json_ki(struct vg_buf *b, int *first, const char *key, int64_t v);
/* Key plus an ISO-8601 timestamp, skipped when ns is 0. */
void vg_buf_json_kt(struct vg_buf *b, int *first, const char *key, int64_t ns);

#endif /* VIGIL_BUF_H */
