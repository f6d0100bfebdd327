/* strmap.h - an open-addressing hash map from strings (owned copies) to pointers, with optional ASCII case folding. */
#ifndef VIGIL_STRMAP_H
#define VIGIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct vg_strmap_slot {
	char *key;      /* owned; NULL = empty */
	size_t len;
	uint64_t hash;
	void *value;
};

struct vg_strmap {
	struct vg_strmap_slot *slots;
	size_t nslots;  /* power of two */
	size_t count;
	int fold_case;  /* compare keys ASCII case-insensitively */
};

/* Initialises an empty map. fold_case: 1 for Windows paths. */
void vg_strmap_init(struct vg_strmap *m, int fold_case);
/* Frees the keys and slots (not the values). */
void vg_strmap_free(struct vg_strmap *m);
/* Returns the value for key, or NULL. */
void *vg_strmap_get(const struct vg_strmap *m, const char *key, size_t len);
/* Sets key to value; returns the previous value (or NULL) in *old if old != NULL. Returns 0 or VG_ENOMEM. */
int vg_strmap_put(struct vg_strmap *m, const char *key, size_t len, void *value, void **old);
/* Removes key; returns its value or NULL. */
void *vg_strmap_del(struct vg_strmap *m, const char *key, size_t len);
/* Iteration: for (size_t i = 0; i < m->nslots; i++) if (m->slots[i].key) ... */

#endif /* VIGIL_STRMAP_H */
