/* hot.c - vigil-cloud's in-memory state on the signal path (credentials, endpoints, known files with prevalence and verdict) and the write-behind queue a writer thread commits to SQLite every group_commit_ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud_int.h"

const char *const hot_verdict_names[4] = { "", "clean", "suspicious", "block" };

uint8_t hot_verdict_code(const char *v)
{
	for (uint8_t i = 1; i < 4; i++)
		if (v && !strcmp(v, hot_verdict_names[i]))
			return i;
	return 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return mix64(h);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 64 hex digits to 32 bytes; -1 when not hex. */
static int sha_bin(const char *hex, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		int a = hexval(hex[2 * i]), b = a < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (b < 0)
			return -1;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

int hot_init(struct hot *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	h->qtail = &h->qhead;
	/*
	 * Growing a table rehashes it under the lock: every signal waits (tens
	 * of ms per million entries). Start big enough for a million files and
	 * two million (file, endpoint) pairs: 8 + 32 MiB of address space,
	 * resident only as far as it is used.
	 */
	h->ep_mask = 1023;
	h->file_mask = (1u << 21) - 1;
	h->pair_mask = (1u << 22) - 1;
	h->ep_by_id = vg_calloc(h->ep_mask + 1, sizeof(uint32_t));
	h->ep_by_cred = vg_calloc(h->ep_mask + 1, sizeof(uint32_t));
	h->file_slots = vg_calloc(h->file_mask + 1, sizeof(uint32_t));
	h->pair_slots = vg_calloc(h->pair_mask + 1, sizeof(uint64_t));
	return h->ep_by_id && h->ep_by_cred && h->file_slots && h->pair_slots ? 0 : VG_ENOMEM;
}

void hot_free(struct hot *h)
{
	for (struct hot_chunk *ch = h->chunks, *n; ch; ch = n) {
		n = ch->next;
		free(ch);
	}
	free(h->spare);
	for (uint32_t i = 0; i < h->neps; i++) {
		free(h->eps[i].id);
		free(h->eps[i].cred);
	}
	for (uint32_t i = 0; i < h->nfiles; i++)
		free(h->files[i].threat);
	free(h->eps);
	free(h->ep_by_id);
	free(h->ep_by_cred);
	free(h->files);
	free(h->file_slots);
	free(h->pair_slots);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
}

/* ------------------------------------------------------------- endpoints */

/* Slot tables hold index+1 (0 = empty); a credential slot whose endpoint now has another credential is stale and skipped. */
static uint32_t ep_find(const struct hot *h, const uint32_t *slots, int by_cred, const char *key)
{
	for (size_t i = str_hash(key) & h->ep_mask;; i = (i + 1) & h->ep_mask) {
		uint32_t v = slots[i];
		if (!v)
			return UINT32_MAX;
		const char *k = by_cred ? h->eps[v - 1].cred : h->eps[v - 1].id;
		if (k && !strcmp(k, key))
			return v - 1;
	}
}

static void ep_slot_put(struct hot *h, uint32_t *slots, const char *key, uint32_t idx)
{
	size_t i = str_hash(key) & h->ep_mask;
	while (slots[i])
		i = (i + 1) & h->ep_mask;
	slots[i] = idx + 1;
}

static int ep_grow(struct hot *h)
{
	size_t slots = (h->ep_mask + 1) * 2;
	uint32_t *a = vg_calloc(slots, sizeof(uint32_t)), *b = vg_calloc(slots, sizeof(uint32_t));
	if (!a || !b) {
		free(a);
		free(b);
		return VG_ENOMEM;
	}
	free(h->ep_by_id);
	free(h->ep_by_cred);
	h->ep_by_id = a;
	h->ep_by_cred = b;
	h->ep_mask = slots - 1;
	h->ep_creds = 0;
	for (uint32_t i = 0; i < h->neps; i++) {
		ep_slot_put(h, h->ep_by_id, h->eps[i].id, i);
		if (h->eps[i].cred) {
			ep_slot_put(h, h->ep_by_cred, h->eps[i].cred, i);
			h->ep_creds++;
		}
	}
	return 0;
}

/* Adds or updates an endpoint (caller holds mu); returns its index or UINT32_MAX when out of memory. */
static uint32_t ep_put(struct hot *h, const char *id, const char *cred)
{
	uint32_t i = ep_find(h, h->ep_by_id, 0, id);
	if ((size_t)(h->neps + 1) * 2 > h->ep_mask || (size_t)(h->ep_creds + 1) * 2 > h->ep_mask)
		if (ep_grow(h))
			return UINT32_MAX;
	if (i == UINT32_MAX) {
		if (h->neps >= (1u << 24) - 1)
			return UINT32_MAX; /* the prevalence pair key holds 24 bits of endpoint */
		if (h->neps == h->capeps) {
			uint32_t cap = h->capeps ? h->capeps * 2 : 64;
			struct hot_endpoint *e = vg_realloc(h->eps, cap * sizeof(*e));
			if (!e)
				return UINT32_MAX;
			h->eps = e;
			h->capeps = cap;
		}
		i = h->neps;
		memset(&h->eps[i], 0, sizeof(h->eps[i]));
		if (!(h->eps[i].id = vg_strdup(id)))
			return UINT32_MAX;
		h->neps++;
		ep_slot_put(h, h->ep_by_id, id, i);
	}
	if (cred && (!h->eps[i].cred || strcmp(h->eps[i].cred, cred))) {
		char *c = vg_strdup(cred);
		if (!c)
			return UINT32_MAX;
		free(h->eps[i].cred);
		h->eps[i].cred = c;
		ep_slot_put(h, h->ep_by_cred, cred, i);
		h->ep_creds++;
	}
	return i;
}

int hot_enroll(struct hot *h, const char *id, const char *cred)
{
	pthread_mutex_lock(&h->mu);
	uint32_t i = ep_put(h, id, cred);
	pthread_mutex_unlock(&h->mu);
	return i == UINT32_MAX ? VG_ENOMEM : 0;
}

int hot_auth(struct hot *h, const char *cred, char *id, size_t idlen, uint32_t *ep)
{
	int rc = VG_ENOTFOUND;
	pthread_mutex_lock(&h->mu);
	uint32_t i = ep_find(h, h->ep_by_cred, 1, cred);
	if (i != UINT32_MAX) {
		snprintf(id, idlen, "%s", h->eps[i].id);
		if (ep)
			*ep = i;
		rc = 0;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* ----------------------------------------------------------------- files */

/* All 32 bytes count: hashes are client input, and crafted ones sharing a prefix must not pile up in one run of slots. */
static uint64_t sha_hash(const uint8_t sha[32])
{
	uint64_t w[4];
	memcpy(w, sha, 32);
	return mix64(w[0] ^ mix64(w[1] ^ mix64(w[2] ^ mix64(w[3]))));
}

static uint32_t file_find(struct hot *h, const uint8_t sha[32], size_t *slot)
{
	for (size_t i = sha_hash(sha) & h->file_mask;; i = (i + 1) & h->file_mask) {
		uint32_t v = h->file_slots[i];
		h->probes++;
		if (!v || !memcmp(h->files[v - 1].sha, sha, 32)) {
			*slot = i;
			return v ? v - 1 : UINT32_MAX;
		}
	}
}

static int file_grow(struct hot *h)
{
	size_t slots = (h->file_mask + 1) * 2;
	uint32_t *s = vg_calloc(slots, sizeof(uint32_t));
	if (!s)
		return VG_ENOMEM;
	free(h->file_slots);
	h->file_slots = s;
	h->file_mask = slots - 1;
	for (uint32_t f = 0; f < h->nfiles; f++) {
		size_t at;
		file_find(h, h->files[f].sha, &at);
		h->file_slots[at] = f + 1;
	}
	return 0;
}

/* Finds or adds a file (caller holds mu); UINT32_MAX when out of memory. *added says it is new. */
static uint32_t file_put(struct hot *h, const uint8_t sha[32], int64_t id, int64_t first_seen_ms, int *added)
{
	size_t slot;
	uint32_t f = file_find(h, sha, &slot);
	*added = 0;
	if (f != UINT32_MAX)
		return f;
	if (h->nfiles >= UINT32_MAX - 1)
		return UINT32_MAX;
	if ((size_t)(h->nfiles + 1) * 2 > h->file_mask) {
		if (file_grow(h))
			return UINT32_MAX;
		file_find(h, sha, &slot);
	}
	if (h->nfiles == h->capfiles) {
		size_t cap = h->capfiles ? (size_t)h->capfiles * 2 : 1024;
		if (cap > UINT32_MAX)
			cap = UINT32_MAX;
		struct hot_file *n = vg_realloc(h->files, cap * sizeof(*n));
		if (!n)
			return UINT32_MAX;
		h->files = n;
		h->capfiles = (uint32_t)cap;
	}
	f = h->nfiles++;
	memset(&h->files[f], 0, sizeof(h->files[f]));
	memcpy(h->files[f].sha, sha, 32);
	h->files[f].first_seen_ms = first_seen_ms;
	h->files[f].id = id ? id : h->max_file_id + 1;
	if (h->files[f].id > h->max_file_id)
		h->max_file_id = h->files[f].id;
	h->file_slots[slot] = f + 1;
	*added = 1;
	return f;
}

/* The (file, endpoint) pair set behind prevalence; 1 added, 0 known, VG_ENOMEM. */
static int pair_add(struct hot *h, uint32_t file, uint32_t ep)
{
	uint64_t key = ((uint64_t)file + 1) << 24 | ep;
	if ((h->npairs + 1) * 2 > h->pair_mask) {
		size_t slots = (h->pair_mask + 1) * 2;
		uint64_t *n = vg_calloc(slots, sizeof(uint64_t)), *old = h->pair_slots;
		if (!n)
			return VG_ENOMEM;
		for (size_t i = 0; i <= h->pair_mask; i++)
			if (old[i]) {
				size_t j = mix64(old[i]) & (slots - 1);
				while (n[j])
					j = (j + 1) & (slots - 1);
				n[j] = old[i];
			}
		free(old);
		h->pair_slots = n;
		h->pair_mask = slots - 1;
	}
	for (size_t i = mix64(key) & h->pair_mask;; i = (i + 1) & h->pair_mask) {
		if (h->pair_slots[i] == key)
			return 0;
		if (!h->pair_slots[i]) {
			h->pair_slots[i] = key;
			h->npairs++;
			return 1;
		}
	}
}

int hot_file_seen(struct hot *h, const char *sha, uint32_t ep, int64_t now_ms, uint32_t *file, int *fresh_pair,
		  int *new_file)
{
	uint8_t bin[32];
	int added;
	if (sha_bin(sha, bin))
		return VG_EINVAL;
	uint32_t f = file_put(h, bin, 0, now_ms, &added);
	if (f == UINT32_MAX)
		return VG_ENOMEM;
	int p = pair_add(h, f, ep);
	if (p < 0)
		return p;
	if (p)
		h->files[f].prevalence++;
	*file = f;
	*fresh_pair = p;
	*new_file = added;
	return 0;
}

int hot_file_verdict(struct hot *h, uint32_t f, uint8_t code, double score, const char *threat)
{
	struct hot_file *hf = &h->files[f];
	hf->verdict = code;
	hf->score = (float)score;
	if (code != HOT_BLOCK || !threat || !*threat) {
		free(hf->threat);
		hf->threat = NULL;
		return 0;
	}
	if (hf->threat && !strcmp(hf->threat, threat))
		return 0;
	char *t = vg_strdup(threat);
	if (!t)
		return VG_ENOMEM;
	free(hf->threat);
	hf->threat = t;
	return 0;
}

int64_t hot_file_id(struct hot *h, const char *sha)
{
	uint8_t bin[32];
	size_t slot;
	if (strlen(sha) != 64 || sha_bin(sha, bin))
		return 0;
	uint32_t f = file_find(h, bin, &slot);
	return f == UINT32_MAX ? 0 : h->files[f].id;
}

/* files[] is sorted by id (loaded in id order, new ids ascending). */
static uint32_t file_by_id(const struct hot *h, int64_t id)
{
	uint32_t lo = 0, hi = h->nfiles;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (h->files[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->nfiles && h->files[lo].id == id ? lo : UINT32_MAX;
}

/* ------------------------------------------------------------ start-up load */

int hot_load(struct hot *h, struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&h->mu);
	if (sqlite3_prepare_v2(s->db, "SELECT id, credential FROM endpoints", -1, &q, NULL) != SQLITE_OK)
		goto sql;
	while (!rc && sqlite3_step(q) == SQLITE_ROW)
		if (ep_put(h, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1)) ==
		    UINT32_MAX)
			rc = VG_ENOMEM;
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(s->db, "SELECT id, sha256, first_seen_ms, prevalence, coalesce(verdict,''),"
				" coalesce(score,0), threat_name FROM files ORDER BY id", -1, &q, NULL) != SQLITE_OK)
		goto sql;
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		uint8_t bin[32];
		int added;
		const char *hex = (const char *)sqlite3_column_text(q, 1);
		if (!hex || strlen(hex) != 64 || sha_bin(hex, bin))
			continue;
		uint32_t f = file_put(h, bin, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 2), &added);
		if (f == UINT32_MAX) {
			rc = VG_ENOMEM;
			break;
		}
		h->files[f].prevalence = sqlite3_column_int64(q, 3);
		h->files[f].verdict = hot_verdict_code((const char *)sqlite3_column_text(q, 4));
		h->files[f].score = (float)sqlite3_column_double(q, 5);
		const char *threat = (const char *)sqlite3_column_text(q, 6);
		if (h->files[f].verdict == HOT_BLOCK && threat && !(h->files[f].threat = vg_strdup(threat)))
			rc = VG_ENOMEM;
	}
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(s->db, "SELECT file_id, endpoint_id FROM file_endpoints", -1, &q, NULL) != SQLITE_OK)
		goto sql;
	while (!rc && sqlite3_step(q) == SQLITE_ROW) {
		const char *eid = (const char *)sqlite3_column_text(q, 1);
		if (!eid)
			continue;
		uint32_t f = file_by_id(h, sqlite3_column_int64(q, 0)), e = ep_put(h, eid, NULL);
		if (e == UINT32_MAX || (f != UINT32_MAX && pair_add(h, f, e) < 0))
			rc = VG_ENOMEM;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&h->mu);
	if (rc)
		snprintf(err, errlen, "out of memory loading the store");
	return rc;
sql:
	pthread_mutex_unlock(&h->mu);
	snprintf(err, errlen, "loading the store: %s", sqlite3_errmsg(s->db));
	return VG_EINVAL;
}

/* ------------------------------------------------------- write-behind queue */

/*
 * Records live in 1 MiB chunks handed to the writer whole: no malloc per
 * signal, and no free of one thread's allocation by another (glibc then
 * locks the allocating thread's arena: measured as futex traffic).
 */
#define HOT_CHUNK (1u << 20)

struct hot_rec *hot_rec_new(struct hot *h, size_t body_len, size_t vjson_len, const char *name, const char *threat)
{
	size_t nl = name ? strlen(name) + 1 : 0, tl = threat && *threat ? strlen(threat) + 1 : 0;
	size_t need = (sizeof(struct hot_rec) + body_len + 1 + vjson_len + 1 + nl + tl + 15) & ~(size_t)15;
	struct hot_chunk *ch = h->chunk_tail;
	if (!ch || ch->cap - ch->used < need) {
		size_t cap = need > HOT_CHUNK ? need : HOT_CHUNK;
		if (h->spare && h->spare->cap >= cap) {
			ch = h->spare;
			h->spare = NULL;
		} else if (!(ch = vg_malloc(sizeof(*ch) + cap)))
			return NULL;
		else
			ch->cap = cap;
		ch->used = 0;
		ch->next = NULL;
		if (h->chunk_tail)
			h->chunk_tail->next = ch;
		else
			h->chunks = ch;
		h->chunk_tail = ch;
	}
	struct hot_rec *r = (struct hot_rec *)(void *)(ch->data + ch->used);
	ch->used += need;
	memset(r, 0, sizeof(*r));
	char *p = r->data;
	r->body = p;
	p += body_len + 1;
	r->vjson = p;
	p += vjson_len + 1;
	if (nl) {
		memcpy(p, name, nl);
		r->name = p;
		p += nl;
	}
	if (tl) {
		memcpy(p, threat, tl);
		r->threat = p;
	}
	return r;
}

void hot_enqueue(struct hot *h, struct hot_rec *r)
{
	r->next = NULL;
	*h->qtail = r;
	h->qtail = &r->next;
	h->qlen++;
}

/*
 * Commits everything queued, in order, in one transaction. Caller holds
 * the store lock (and not the hot lock). Returns the number of records.
 */
size_t hot_drain(struct vg_cloud *c)
{
	struct hot *h = &c->hot;
	struct store *s = &c->store;
	struct hot_rec *list, *r, *n;
	size_t count = 0;
	int changed = 0;

	pthread_mutex_lock(&h->mu);
	list = h->qhead;
	struct hot_chunk *chunks = h->chunks;
	h->qhead = NULL;
	h->qtail = &h->qhead;
	h->qlen = 0;
	h->chunks = h->chunk_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	if (!list && !chunks)
		return 0;
	int began = store_begin(s) == 0;
	for (r = list; r; r = n) {
		n = r->next;
		const char *eid = r->eid;
		int bad = store_signal_add(s, eid, r->sha, r->body, r->body_len, hot_verdict_names[r->verdict], r->score,
					   r->now_ms);
		if (r->fresh_pair)
			bad |= store_pair_add(s, r->file_id, eid, r->now_ms);
		bad |= store_file_put(s, r->new_file, r->file_id, r->sha, r->first_seen_ms, r->now_ms, r->prevalence, r->size, r->name,
				      hot_verdict_names[r->verdict], r->score, r->threat);
		if (r->vid) {
			bad |= store_verdict_add(s, r->vid, r->sha, hot_verdict_names[r->verdict], r->vjson, r->now_ms);
			changed = 1;
		}
		if (r->touch)
			bad |= store_touch(s, eid, r->now_ms);
		if (bad)
			c->store_errors++;
		count++;
	}
	if (!began || store_flush(s))
		c->store_errors++;
	/* the chunks go back: one kept as the spare, the rest freed */
	pthread_mutex_lock(&h->mu);
	while (chunks) {
		struct hot_chunk *next = chunks->next;
		if (!h->spare && chunks->cap == HOT_CHUNK)
			h->spare = chunks;
		else
			free(chunks);
		chunks = next;
	}
	pthread_mutex_unlock(&h->mu);
	if (changed) {
		pthread_mutex_lock(&h->mu);
		if (c->server)
			vg_cloud_server_notify(c->server);
		pthread_mutex_unlock(&h->mu);
	}
	return count;
}

/* The writer thread: commits the queue every group_commit_ms, and all of it at stop. */
void *hot_writer(void *arg)
{
	struct vg_cloud *c = arg;
	int64_t step = c->cfg.group_commit_ms ? (int64_t)c->cfg.group_commit_ms * 1000000 : 10000000;


	for (;;) {
		struct timespec ts;
		pthread_mutex_lock(&c->hot.mu);
		if (!c->stopping && !c->hot.kick) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + step;
			ts.tv_sec = t / 1000000000;
			ts.tv_nsec = t % 1000000000;
			pthread_cond_timedwait(&c->hot.cond, &c->hot.mu, &ts);
		}
		c->hot.kick = 0;
		int stop = c->stopping;
		pthread_mutex_unlock(&c->hot.mu);
		pthread_mutex_lock(&c->store.mu);
		hot_drain(c);
		pthread_mutex_unlock(&c->store.mu);
		if (stop)
			break;
	}
	return NULL;
}

void hot_sync(struct vg_cloud *c)
{
	pthread_mutex_lock(&c->store.mu);
	hot_drain(c);
	pthread_mutex_unlock(&c->store.mu);
}
