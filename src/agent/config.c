/* config.c - vigild's configuration file: one table of settings drives parsing, validation, the commented sample and the status JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/agent.h"
#include "vigil/buf.h"
#include "vigil/response.h"

enum kind { K_STR, K_SECRET, K_PATHS, K_UINT, K_MODE, K_LEVEL, K_LOGLEVEL, K_ACTION, K_FAIL };

struct setting {
	const char *key;
	enum kind kind;
	size_t off;            /* offset of the field in struct vg_agent_config */
	const char *def;       /* default as text (applied through the parser), NULL = unset */
	unsigned min, max;     /* K_UINT bounds */
	const char *help;      /* one or two lines for the sample file */
};

#define OFF(f) offsetof(struct vg_agent_config, f)

static const struct setting settings[] = {
	{ "mode", K_MODE, OFF(mode), "protect", 0, 0,
	  "protect: take the actions the policy sets. audit: only alert, and say in each\n"
	  "alert what would have been done." },
	{ "rules", K_PATHS, OFF(rules), NULL, 0, 0,
	  "A Sigma rule file or folder; repeat the line for several. None: the rules\n"
	  "compiled into vigild (the project's rules/)." },
	{ "policy", K_STR, OFF(policy), "/etc/vigil/policy.yml", 0, 0,
	  "Response policy (docs/response.md). A missing file means: alert only, except\n"
	  "what the project's rules set in their vigil: section." },
	{ "placeholders", K_STR, OFF(placeholders), NULL, 0, 0,
	  "Values for Sigma %placeholders% (YAML name: [values]), or unset." },
	{ "alert_log", K_STR, OFF(alert_log), "/var/log/vigil/alerts.jsonl", 0, 0,
	  "Alerts as JSON lines (one per alert, written when raised). '-' is stdout." },
	{ "event_log", K_STR, OFF(event_log), NULL, 0, 0,
	  "Every event as vg_event JSON lines (large), or unset for none." },
	{ "record", K_STR, OFF(record), NULL, 0, 0,
	  "Recording for `vigil corpus` and `vigild --replay`: every event as vg_event\n"
	  "JSON lines with the host facts made live (hashes, package, ELF, entropy,\n"
	  "size), before the process tree's fields. Unset: none (docs/corpus.md)." },
	{ "socket", K_STR, OFF(socket_path), "/run/vigil/vigild.sock", 0, 0,
	  "Unix socket that `vigil status` reads." },
	{ "state_dir", K_STR, OFF(state_dir), "/var/lib/vigil", 0, 0,
	  "Persistent state: quarantine store, persistence snapshots (root only)." },
	{ "quarantine_dir", K_STR, OFF(quarantine_dir), NULL, 0, 0,
	  "Quarantine store; unset means <state_dir>/quarantine." },
	{ "pid_file", K_STR, OFF(pid_file), NULL, 0, 0,
	  "Write the daemon's pid here, or unset." },
	{ "resolvers", K_STR, OFF(resolvers), NULL, 0, 0,
	  "DNS resolvers considered configured (comma-separated IPs); unset reads\n"
	  "/etc/resolv.conf at start and on reload." },
	{ "cloud_url", K_STR, OFF(cloud_url), NULL, 0, 0,
	  "The protection service (vigil-cloud), e.g. http://10.0.0.5:8443, or unset for\n"
	  "local verdicts only (docs/agent.md, Talking to vigil-cloud)." },
	{ "cloud_token", K_SECRET, OFF(cloud_token), NULL, 0, 0,
	  "Enrollment token (the service's enroll_token). Used once: the credential it\n"
	  "returns is kept in <state_dir>/cloud-credential (0600)." },
	{ "cloud_queue_kb", K_UINT, OFF(cloud_queue_kb), "16384", 16, 1024 * 1024,
	  "Cap of the on-disk queue of signals not yet delivered (<state_dir>/cloud-queue),\n"
	  "in KiB; signals past it are dropped and counted." },
	{ "cloud_block_action", K_ACTION, OFF(cloud_block_action), "remediate", 0, 0,
	  "What a \"block\" verdict does to the process: kill, quarantine or remediate\n"
	  "(kill + quarantine + undo persistence); alert only records it." },
	{ "hold_mounts", K_STR, OFF(hold_mounts), NULL, 0, 0,
	  "Block at first sight (docs/exec-hold.md): hold the exec of a never-seen program\n"
	  "on these mounts until vigil-cloud answers. 'auto' = each of /tmp, /var/tmp,\n"
	  "/dev/shm, /home, /root, /run/user/* that is a mount point of its own; or mount\n"
	  "points separated by ','. Never '/'. Unset: off. Needs cloud_url." },
	{ "hold_budget_ms", K_UINT, OFF(hold_budget_ms), "50", 1, 60000,
	  "How long a held exec waits for the service's verdict, in ms." },
	{ "hold_extended_ms", K_UINT, OFF(hold_extended_ms), "0", 0, 60000,
	  "Extended wait past the budget, in ms (as Defender's cloud extended timeout):\n"
	  "a verdict arriving then still decides; the overrun is counted." },
	{ "hold_fail", K_FAIL, OFF(hold_fail_closed), "open", 0, 0,
	  "No verdict in time (service down, slow, not enrolled): open = let it run,\n"
	  "closed = deny the exec (EPERM)." },
	{ "hold_allow", K_STR, OFF(hold_allow), NULL, 0, 0,
	  "Never held: path globs (fnmatch) and sha256s, separated by ','." },
	{ "hold_ldso", K_UINT, OFF(hold_ldso), "1", 0, 1,
	  "1: also hold an ELF file the dynamic loader opens as its program\n"
	  "(/lib64/ld-linux-x86-64.so.2 /tmp/x); costs a check on every open on the mounts." },
	{ "ringbuf_mb", K_UINT, OFF(ringbuf_mb), "8", 1, 1024,
	  "BPF ring buffer size in MiB (rounded up to a power of two)." },
	{ "min_level", K_LEVEL, OFF(min_level), "low", 0, 0,
	  "Ignore rule matches below: informational, low, medium, high, critical." },
	{ "proc_horizon", K_UINT, OFF(proc_horizon_s), "3600", 10, 86400 * 7,
	  "Seconds an exited process stays in the process tree." },
	{ "proc_idle", K_UINT, OFF(proc_idle_s), "7200", 60, 86400 * 30,
	  "Seconds after which a silent running process leaves the tree." },
	{ "incident_idle", K_UINT, OFF(incident_idle_s), "600", 1, 86400,
	  "Seconds an incident stays open for related alerts after its last one." },
	{ "log_level", K_LOGLEVEL, OFF(log_level), "warn", 0, 0,
	  "Diagnostics on stderr: error, warn, info, debug." },
};
#define NSETTINGS (sizeof(settings) / sizeof(*settings))

static int failf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return VG_EINVAL;
}

static const char *mode_names[] = { "protect", "audit" };
static const char *loglevel_names[] = { "error", "warn", "info", "debug" };

static int apply(struct vg_agent_config *c, const struct setting *s, const char *v, char *err, size_t errlen)
{
	char *base = (char *)c + s->off;

	switch (s->kind) {
	case K_STR:
	case K_SECRET: {
		char **dst = (char **)base, *d = NULL;
		if (s->off == OFF(hold_mounts) && *v) {
			char *copy = vg_strdup(v), *save = NULL;
			if (!copy)
				return VG_ENOMEM;
			for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
				if (strcmp(v, "auto") == 0)
					break;
				if (m[0] != '/' || strcmp(m, "/") == 0) {
					int r = failf(err, errlen, "hold_mounts: '%s' is not 'auto' or absolute mount points other than '/'", m);
					free(copy);
					return r;
				}
			}
			free(copy);
		}
		if (s->off == OFF(cloud_url) && *v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
			return failf(err, errlen, "cloud_url: '%s' is not an http:// or https:// URL", v);
		if (*v && !(d = vg_strdup(v)))
			return VG_ENOMEM;
		free(*dst);
		*dst = d;
		return 0;
	}
	case K_PATHS: {
		if (c->nrules == VG_AGENT_MAX_RULE_PATHS)
			return failf(err, errlen, "rules: at most %d paths", VG_AGENT_MAX_RULE_PATHS);
		if (!*v)
			return failf(err, errlen, "rules: needs a path");
		if (!(c->rules[c->nrules] = vg_strdup(v)))
			return VG_ENOMEM;
		c->nrules++;
		return 0;
	}
	case K_UINT: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (!*v || *end || errno || *v == '-' || n < s->min || n > s->max)
			return failf(err, errlen, "%s: '%s' is not a number from %u to %u", s->key, v, s->min, s->max);
		*(unsigned *)base = (unsigned)n;
		return 0;
	}
	case K_MODE:
		for (unsigned i = 0; i < 2; i++)
			if (strcmp(v, mode_names[i]) == 0) {
				*(enum vg_agent_mode *)base = (enum vg_agent_mode)i;
				return 0;
			}
		return failf(err, errlen, "mode: '%s' is not protect or audit", v);
	case K_LEVEL: {
		enum vg_level l = vg_level_from_name(v);
		if (l == VG_LEVEL_UNKNOWN)
			return failf(err, errlen, "min_level: '%s' is not informational, low, medium, high or critical", v);
		*(enum vg_level *)base = l;
		return 0;
	}
	case K_LOGLEVEL:
		for (unsigned i = 0; i < 4; i++)
			if (strcmp(v, loglevel_names[i]) == 0) {
				*(enum vg_log_level *)base = (enum vg_log_level)i;
				return 0;
			}
		return failf(err, errlen, "log_level: '%s' is not error, warn, info or debug", v);
	case K_FAIL:
		if (strcmp(v, "open") && strcmp(v, "closed"))
			return failf(err, errlen, "%s: '%s' is not open or closed", s->key, v);
		*(int *)base = strcmp(v, "closed") == 0;
		return 0;
	case K_ACTION: {
		int a = vg_action_from_name(v);
		if (a < 0)
			return failf(err, errlen, "%s: '%s' is not alert, kill, quarantine or remediate", s->key, v);
		*(int *)base = a;
		return 0;
	}
	}
	return VG_EINVAL;
}

int vg_agent_config_set(struct vg_agent_config *c, const char *key, const char *value, char *err, size_t errlen)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return apply(c, &settings[i], value, err, errlen);
	return failf(err, errlen, "unknown setting '%s'", key);
}

int vg_agent_config_defaults(struct vg_agent_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (!settings[i].def)
			continue;
		int rc = apply(c, &settings[i], settings[i].def, NULL, 0);
		if (rc)
			return rc;
	}
	return 0;
}

void vg_agent_config_free(struct vg_agent_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (settings[i].kind == K_STR || settings[i].kind == K_SECRET) {
			char **p = (char **)((char *)c + settings[i].off);
			free(*p);
			*p = NULL;
		}
	}
	for (size_t i = 0; i < c->nrules; i++)
		free(c->rules[i]);
	c->nrules = 0;
}

/* Strips a trailing comment (" #...") and surrounding blanks; quotes keep '#'. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int vg_agent_config_load(struct vg_agent_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], msg[512];
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		failf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = failf(err, errlen, "%s:%u: line longer than %zu bytes", path, lineno, sizeof(line) - 2);
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *v = s;
		while (*v && *v != ' ' && *v != '\t')
			v++;
		if (*v)
			*v++ = '\0';
		v = trim(v);
		size_t vl = strlen(v);
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') { /* "quoted value" keeps blanks */
			v[vl - 1] = '\0';
			v++;
		}
		rc = vg_agent_config_set(c, s, v, msg, sizeof(msg));
		if (rc) {
			if (rc == VG_ENOMEM)
				failf(err, errlen, "%s:%u: out of memory", path, lineno);
			else
				failf(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = failf(err, errlen, "%s: read error", path);
	fclose(f);
	return rc;
}

void vg_agent_config_write_sample(FILE *out)
{
	fputs("# vigild.conf - configuration of the Vigil endpoint agent (docs/agent.md).\n"
	      "# One setting per line: 'key value'. Lines starting with # are comments.\n"
	      "# Every setting is shown with its default; uncomment a line to change it.\n"
	      "# Reload with: kill -HUP $(pidof vigild)\n",
	      out);
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *h = settings[i].help;
		fputs("\n", out);
		while (*h) {
			const char *nl = strchr(h, '\n');
			size_t n = nl ? (size_t)(nl - h) : strlen(h);
			fprintf(out, "# %.*s\n", (int)n, h);
			h += n + (nl ? 1 : 0);
		}
		if (settings[i].def)
			fprintf(out, "#%s %s\n", settings[i].key, settings[i].def);
		else
			fprintf(out, "#%s\n", settings[i].key);
	}
}

void vg_agent_config_write_json(const struct vg_agent_config *c, struct vg_buf *b)
{
	int first = 1;

	vg_buf_put(b, "{", 1);
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *base = (const char *)c + s->off;
		switch (s->kind) {
		case K_STR:
			vg_buf_json_key(b, &first, s->key);
			vg_buf_json_str(b, *(char *const *)base);
			break;
		case K_SECRET: /* never shown: say only whether it is set */
			vg_buf_json_key(b, &first, s->key);
			vg_buf_json_str(b, *(char *const *)base ? "(set)" : NULL);
			break;
		case K_ACTION:
			vg_buf_json_kv(b, &first, s->key, vg_action_name((enum vg_action) * (const int *)base));
			break;
		case K_FAIL:
			vg_buf_json_kv(b, &first, s->key, *(const int *)base ? "closed" : "open");
			break;
		case K_PATHS:
			vg_buf_json_key(b, &first, s->key);
			vg_buf_put(b, "[", 1);
			for (size_t k = 0; k < c->nrules; k++) {
				if (k)
					vg_buf_put(b, ",", 1);
				vg_buf_json_str(b, c->rules[k]);
			}
			vg_buf_put(b, "]", 1);
			break;
		case K_UINT:
			vg_buf_json_ku(b, &first, s->key, *(const unsigned *)base);
			break;
		case K_MODE:
			vg_buf_json_kv(b, &first, s->key, mode_names[*(const enum vg_agent_mode *)base]);
			break;
		case K_LEVEL:
			vg_buf_json_kv(b, &first, s->key, vg_level_name(*(const enum vg_level *)base));
			break;
		case K_LOGLEVEL:
			vg_buf_json_kv(b, &first, s->key, loglevel_names[*(const enum vg_log_level *)base]);
			break;
		}
	}
	vg_buf_put(b, "}", 1);
}
