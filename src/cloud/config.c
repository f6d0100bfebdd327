/* config.c - vigil-cloud's configuration file: one table of settings drives parsing, validation and the commented sample. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/cloud.h"

enum kind { K_STR, K_UINT, K_BOOL };

struct setting {
	const char *key;
	enum kind kind;
	size_t off;
	const char *def;   /* default as text, NULL = unset */
	unsigned min, max; /* K_UINT bounds */
	const char *help;
};

#define OFF(f) offsetof(struct vg_cloud_config, f)

static const struct setting settings[] = {
	{ "listen", K_STR, OFF(listen), "127.0.0.1:8443", 0, 0,
	  "Address and port to serve on (IPv4). Port 0 picks a free port (printed at start)." },
	{ "db", K_STR, OFF(db), "/var/lib/vigil-cloud/cloud.db", 0, 0,
	  "The SQLite database (WAL). ':memory:' keeps nothing across restarts." },
	{ "enroll_token", K_STR, OFF(enroll_token), NULL, 0, 0,
	  "Token agents present (Authorization: Bearer) to POST /v1/enroll. Unset: enrollment closed." },
	{ "rules", K_STR, OFF(rules), NULL, 0, 0,
	  "Sigma rule file or folder for POST /v1/events and /_bulk. Unset: the project's rules, compiled in." },
	{ "model", K_STR, OFF(model), "embedded", 0, 0,
	  "Verdict models: 'embedded' (the bundle compiled in, models/vigil-model.bundle), the path of a\n"
	  "bundle `vigil train` wrote, or 'none' (the interim rule scorer alone; docs/ml.md)." },
	{ "es_version", K_STR, OFF(es_version), "8.11.0", 0, 0,
	  "Elasticsearch version the Beats-compatible endpoint reports on GET /." },
	{ "threads", K_UINT, OFF(threads), "4", 1, 256, "HTTP worker threads (each runs its own epoll loop)." },
	{ "max_body_kb", K_UINT, OFF(max_body_kb), "8192", 1, 1024 * 1024,
	  "Largest request body in KiB, after gzip decoding; larger bodies get 413." },
	{ "longpoll_max", K_UINT, OFF(longpoll_max), "60", 0, 3600,
	  "Longest GET /v1/verdicts wait in seconds (the timeout argument is capped to it)." },
	{ "max_conns", K_UINT, OFF(max_conns), "4096", 1, 1000000, "Open connections at most." },
	{ "group_commit_ms", K_UINT, OFF(group_commit_ms), "10", 0, 60000,
	  "Signals are answered from memory and written to the database behind, one\n"
	  "transaction every this many ms; a crash (not a clean stop) loses at most this\n"
	  "window of answered signals. 0 commits every signal before answering it." },
	{ "es_open", K_BOOL, OFF(es_open), "no", 0, 0,
	  "yes: the Elasticsearch endpoint (/_bulk...) accepts requests without a credential (lab only)." },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int set(struct vg_cloud_config *cfg, const struct setting *s, const char *v, char *why, size_t whylen)
{
	char *base = (char *)cfg + s->off;

	switch (s->kind) {
	case K_STR: {
		char **p = (char **)base, *d = vg_strdup(v);
		if (!d)
			return VG_ENOMEM;
		free(*p);
		*p = d;
		return 0;
	}
	case K_UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (!*v || *end || errno || v[0] == '-' || n < s->min || n > s->max) {
			snprintf(why, whylen, "'%s' is not a whole number from %u to %u", v, s->min, s->max);
			return VG_EINVAL;
		}
		*(unsigned *)base = (unsigned)n;
		return 0;
	}
	case K_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
			*(int *)base = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
			*(int *)base = 0;
		else {
			snprintf(why, whylen, "'%s' is not yes or no", v);
			return VG_EINVAL;
		}
		return 0;
	}
	return VG_EINVAL;
}

void vg_cloud_config_defaults(struct vg_cloud_config *cfg)
{
	char why[128];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].def)
			set(cfg, &settings[i], settings[i].def, why, sizeof(why));
}

void vg_cloud_config_free(struct vg_cloud_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].kind == K_STR) {
			char **p = (char **)((char *)cfg + settings[i].off);
			free(*p);
			*p = NULL;
		}
}

int vg_cloud_config_load(struct vg_cloud_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *p = line, *key, *val, *e;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == '\n' || *p == '\r')
			continue;
		key = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if (*p)
			*p++ = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		val = p;
		e = val + strlen(val);
		while (e > val && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		const struct setting *s = NULL;
		for (size_t i = 0; i < NSETTINGS; i++)
			if (!strcmp(settings[i].key, key))
				s = &settings[i];
		if (!s) {
			snprintf(err, errlen, "%s:%u: %s: unknown setting", path, lineno, key);
			rc = VG_EINVAL;
			break;
		}
		if (!*val) {
			snprintf(err, errlen, "%s:%u: %s: missing value", path, lineno, key);
			rc = VG_EINVAL;
			break;
		}
		char why[160];
		if ((rc = set(cfg, s, val, why, sizeof(why)))) {
			if (rc == VG_EINVAL)
				snprintf(err, errlen, "%s:%u: %s: %s", path, lineno, key, why);
			else
				snprintf(err, errlen, "%s:%u: %s", path, lineno, vg_strerror(rc));
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

void vg_cloud_config_sample(struct vg_buf *b)
{
	vg_buf_puts(b, "# vigil-cloud.conf - settings of the Vigil cloud protection service (docs/cloud.md).\n");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *h = settings[i].help;
		vg_buf_puts(b, "\n# ");
		for (; *h; h++) {
			vg_buf_put(b, h, 1);
			if (*h == '\n')
				vg_buf_puts(b, "# ");
		}
		vg_buf_printf(b, "\n%s%s %s\n", settings[i].def ? "" : "#", settings[i].key,
			      settings[i].def ? settings[i].def : "...");
	}
}
