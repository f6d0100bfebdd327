/* strmap.c - linear-probing string hash map with backward-shift deletion (no tombstones). */
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/strmap.h"

void vg_strmap_init(struct vg_strmap *m, int fold_case)
{
	memset(m, 0, sizeof(*m));
	m->fold_case = fold_case;
}

void vg_strmap_free(struct vg_strmap *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->nslots = m->count = 0;
}

static uint64_t hash(const struct vg_strmap *m, const char *k, size_t n)
{
	return m->fold_case ? vg_hash_bytes_ci(k, n) : vg_hash_bytes(k, n);
}

static int eq(const struct vg_strmap *m, const struct vg_strmap_slot *s, const char *k, size_t n, uint64_t h)
{
	if (s->hash != h || s->len != n)
		return 0;
	return memcmp(s->key, k, n) == 0 || (m->fold_case && vg_strncaseeq(s->key, k, n));
}

static size_t find(const struct vg_strmap *m, const char *k, size_t n, uint64_t h)
{
	size_t mask = m->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (!m->slots[i].key || eq(m, &m->slots[i], k, n, h))
			return i;
	}
}

static int grow(struct vg_strmap *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 64;
	struct vg_strmap_slot *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return VG_ENOMEM;
	for (size_t i = 0; i < m->nslots; i++) {
		struct vg_strmap_slot *s = &m->slots[i];
		if (!s->key)
			continue;
		size_t j = s->hash & (ns - 1);
		while (slots[j].key)
			j = (j + 1) & (ns - 1);
		slots[j] = *s;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = ns;
	return 0;
}

void *vg_strmap_get(const struct vg_strmap *m, const char *key, size_t len)
{
	if (!m->count)
		return NULL;
	size_t i = find(m, key, len, hash(m, key, len));
	return m->slots[i].key ? m->slots[i].value : NULL;
}

int vg_strmap_put(struct vg_strmap *m, const char *key, size_t len, void *value, void **old)
{
	uint64_t h = hash(m, key, len);

	if (old)
		*old = NULL;
	if ((m->count + 1) * 4 >= m->nslots * 3 && grow(m))
		return VG_ENOMEM;
	size_t i = find(m, key, len, h);
	struct vg_strmap_slot *s = &m->slots[i];
	if (s->key) {
		if (old)
			*old = s->value;
		s->value = value;
		return 0;
	}
	s->key = vg_strndup(key, len);
	if (!s->key)
		return VG_ENOMEM;
	s->len = len;
	s->hash = h;
	s->value = value;
	m->count++;
	return 0;
}

void *vg_strmap_del(struct vg_strmap *m, const char *key, size_t len)
{
	if (!m->count)
		return NULL;
	size_t mask = m->nslots - 1;
	size_t i = find(m, key, len, hash(m, key, len));
	if (!m->slots[i].key)
		return NULL;
	void *v = m->slots[i].value;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->count--;
	/* backward-shift: move later entries of the cluster into the hole when allowed */
	size_t hole = i;
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		/* can the entry at j move to hole? yes if home is not in (hole, j] cyclically */
		int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!between) {
			m->slots[hole] = m->slots[j];
			m->slots[j].key = NULL;
			hole = j;
		}
	}
	return v;
}
