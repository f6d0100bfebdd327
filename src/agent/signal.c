/* signal.c - builds the behavior signal (POST /v1/signals body) from an event and the process tree; shared by vigild's cloud client and `vigil corpus` so both speak one format. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/sigma_ext.h"
#include "vigil/buf.h"
#include "vigil/proctree.h"
#include "vigil/signal.h"

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The SHA256=... of a Sysmon-style hashes string, lower-cased, or 0. */
int vg_signal_sha256(const char *hashes, char out[65])
{
	const char *p = hashes ? strstr(hashes, "SHA256=") : NULL;
	if (!p)
		return 0;
	p += 7;
	for (int i = 0; i < 64; i++) {
		char ch = p[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return 0;
		out[i] = ch;
	}
	out[64] = '\0';
	return 1;
}

static void json_str_array1(struct vg_buf *b, int *first, const char *key, const char *v)
{
	vg_buf_json_key(b, first, key);
	vg_buf_put(b, "[", 1);
	if (v)
		vg_buf_json_str(b, v);
	vg_buf_put(b, "]", 1);
}

/* The signal's "file" object for the executable of a process start event. */
void vg_signal_build_file(const struct vg_event *ev, const char *sha, struct vg_buf *b)
{
	const char *v;
	int f = 1;

	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &f, "sha256", sha);
	const char *img = ev->proc.image;
	struct stat st;
	if ((v = vg_event_get(ev, "VigilFileSize")) && *v)
		vg_buf_json_ku(b, &f, "size", strtoull(v, NULL, 10)); /* recorded live: the file may be gone */
	else if (img && img[0] == '/' && stat(img, &st) == 0 && S_ISREG(st.st_mode))
		vg_buf_json_ku(b, &f, "size", (uint64_t)st.st_size);
	vg_buf_json_kv(b, &f, "path", img);
	if (img) {
		const char *slash = strrchr(img, '/');
		vg_buf_json_kv(b, &f, "name", slash ? slash + 1 : img);
	}
	double ent = -1;
	if ((v = vg_event_get(ev, "VigilFileEntropy")) && *v) {
		ent = strtod(v, NULL);
		if (ent >= 0 && ent <= 8) {
			vg_buf_json_key(b, &f, "entropy");
			vg_buf_printf(b, "%.2f", ent);
		}
	}
	v = vg_event_get(ev, "Package");
	vg_buf_json_key(b, &f, "package");
	if (v && *v)
		vg_buf_json_str(b, v);
	else
		vg_buf_puts(b, "null");
	vg_buf_json_kt(b, &f, "first_seen", ev->time_ns ? ev->time_ns : real_ns());
	const char *etype = vg_event_get(ev, "VigilElfType");
	if (etype && *etype) {
		int g = 1;
		vg_buf_json_key(b, &f, "elf");
		vg_buf_put(b, "{", 1);
		static const char *const types[] = { "exec", "dyn", "rel", "core" };
		const char *t = "other";
		for (size_t i = 0; i < 4; i++)
			if (strcmp(etype, types[i]) == 0)
				t = types[i];
		vg_buf_json_kv(b, &g, "type", t);
		vg_buf_json_kv(b, &g, "machine", vg_event_get(ev, "VigilElfMachine"));
		const char *link = vg_event_get(ev, "VigilElfLinkage");
		if (link) {
			vg_buf_json_key(b, &g, "static");
			vg_buf_puts(b, strncmp(link, "static", 6) == 0 ? "true" : "false");
		}
		const char *strip = vg_event_get(ev, "VigilElfStripped");
		if (strip) {
			vg_buf_json_key(b, &g, "stripped");
			vg_buf_puts(b, strcmp(strip, "true") == 0 ? "true" : "false");
		}
		if (ent >= 0) { /* packed: near-random bytes (UPX and friends); the scorer's trait */
			vg_buf_json_key(b, &g, "packed");
			vg_buf_puts(b, ent >= 7.2 ? "true" : "false");
		}
		const char *interp = vg_event_get(ev, "VigilElfInterpreter");
		vg_buf_json_key(b, &g, "interpreter");
		if (interp && *interp)
			vg_buf_json_str(b, interp);
		else
			vg_buf_puts(b, "null");
		vg_buf_put(b, "}", 1);
	}
	vg_buf_put(b, "}", 1);
}

/* The POST /v1/signals body for the event's executable (docs/schemas/signal.json). */
void vg_signal_build(const char *endpoint_id, const char *address, struct vg_tree *tree,
		     const struct vg_rule *rule, const char *start_behavior, const struct vg_event *ev,
		     const char *sha, const char *file_json, struct vg_buf *b)
{
	int first = 1, f;

	vg_buf_put(b, "{", 1);
	vg_buf_json_kv(b, &first, "endpoint_id", endpoint_id);
	vg_buf_json_kv(b, &first, "address", address);
	vg_buf_json_kt(b, &first, "time", ev->time_ns ? ev->time_ns : real_ns());
	if (rule) {
		json_str_array1(b, &first, "rule_ids", rule->id);
		json_str_array1(b, &first, "behavior_ids", rule->technique);
	} else {
		vg_buf_json_key(b, &first, "rule_ids");
		vg_buf_put(b, "[]", 2);
		json_str_array1(b, &first, "behavior_ids", start_behavior ? start_behavior : VG_SIGNAL_NEW_EXE_BEHAVIOR);
	}
	/* process chain, root first */
	const struct vg_proc_node *chain[VG_SIGNAL_CHAIN_MAX];
	size_t nchain = 0;
	const struct vg_proc_node *n = ev->proc.key ? vg_tree_get(tree, ev->proc.key) : NULL;
	while (n && nchain < VG_SIGNAL_CHAIN_MAX) {
		chain[nchain++] = n;
		n = vg_tree_parent(tree, n);
	}
	vg_buf_json_key(b, &first, "process_chain");
	vg_buf_put(b, "[", 1);
	for (size_t i = nchain; i-- > 0;) {
		f = 1;
		vg_buf_put(b, i + 1 < nchain ? ",{" : "{", i + 1 < nchain ? 2 : 1);
		vg_buf_json_ku(b, &f, "pid", chain[i]->pid);
		vg_buf_json_kv(b, &f, "image", chain[i]->image);
		vg_buf_json_kv(b, &f, "command_line", chain[i]->command_line);
		if (i == 0)
			vg_buf_json_kv(b, &f, "sha256", sha);
		vg_buf_put(b, "}", 1);
	}
	if (!nchain) {
		f = 1;
		vg_buf_put(b, "{", 1);
		vg_buf_json_ku(b, &f, "pid", ev->proc.pid);
		vg_buf_json_kv(b, &f, "image", ev->proc.image);
		vg_buf_json_kv(b, &f, "command_line", ev->proc.command_line);
		vg_buf_json_kv(b, &f, "sha256", sha);
		vg_buf_put(b, "}", 1);
	}
	vg_buf_put(b, "]", 1);

	/* the file: the acting process's executable, as its start event described it */
	vg_buf_json_key(b, &first, "file");
	vg_buf_puts(b, file_json);
	vg_buf_put(b, "}", 1);
}
