/* corpus.c - `vigil corpus`: replays labelled recordings (vigild recordings, EVTX, evtx_dump JSON) through the agent's pipeline and writes one labelled signal per process start and per rule match, as JSON lines for `vigil train` (docs/corpus.md). */
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "engine/sigma_ext.h"
#include "vigil/agent.h"
#include "vigil/buf.h"
#include "vigil/corpus.h"
#include "vigil/proctree.h"
#include "vigil/signal.h"
#include "vigil/source.h"
#include "vigil/strmap.h"

static const char usage[] =
	"usage: vigil corpus [--data DIR] [--platform linux|windows] [--out FILE] MANIFEST...\n"
	"\n"
	"Replays each recording a labels manifest names through the agent's rules and\n"
	"process tree and writes corpus lines (JSON): one signal per process start and\n"
	"one per rule match, labelled, deduplicated per recording. docs/corpus.md.\n"
	"\n"
	"  --data DIR          recordings are relative to DIR (default: the manifest's folder)\n"
	"  --platform NAME     only the manifest lines of this platform\n"
	"  --out FILE          write the lines to FILE (default stdout)\n"
	"  -h, --help          this text\n";

/* Counters printed at the end (stderr). */
struct corpus_stats {
	uint64_t recordings, missing, bad_manifest_lines, bad_records, events;
	uint64_t lines, duplicates, skipped_packaged, no_hash, out_of_scope;
	uint64_t benign, malicious;
};

/*
 * A system program, for the "unpackaged" option: package-verified, or run from
 * a system folder (inside the simulator's namespace the package cannot be
 * checked, yet /usr there is this machine's /usr).
 */
static int system_program(const struct vg_event *ev)
{
	const char *ver = vg_event_get(ev, "PackageVerified"), *cls = vg_event_get(ev, "VigilImagePathClass");
	return (ver && strcmp(ver, "true") == 0) || (cls && strcmp(cls, "system") == 0);
}

/* What a process start said about its executable, for the signals its later events raise. */
struct exe_info {
	char sha[65];
	int packaged;      /* a system program (system_program) */
	char file_json[];  /* the signal's "file" object */
};

/* One recording's replay. */
struct replay_ctx {
	const struct vg_corpus_labels *labels;
	const struct vg_corpus_entry *entry;
	struct vg_agent *agent;
	FILE *out;
	struct corpus_stats *st;
	char endpoint[129];
	struct vg_strmap exe;       /* process key -> struct exe_info of its start */
	struct vg_strmap seen;      /* dedupe keys of this recording */
	struct vg_strmap attackers; /* process keys of the attacker's processes (attacker lines) */
	uint32_t *pids;             /* the root= subtree (sorted set), or NULL: everything */
	size_t npids, cap_pids;
	struct vg_buf line, sig, file;
};

static int pid_in(const struct replay_ctx *r, uint32_t pid)
{
	size_t lo = 0, hi = r->npids;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->pids[mid] == pid)
			return 1;
		if (r->pids[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int pid_add(struct replay_ctx *r, uint32_t pid)
{
	if (pid_in(r, pid))
		return 0;
	if (r->npids == r->cap_pids) {
		size_t nc = r->cap_pids ? r->cap_pids * 2 : 64;
		uint32_t *p = realloc(r->pids, nc * sizeof(*p));
		if (!p)
			return VG_ENOMEM;
		r->pids = p;
		r->cap_pids = nc;
	}
	size_t i = r->npids;
	while (i > 0 && r->pids[i - 1] > pid) {
		r->pids[i] = r->pids[i - 1];
		i--;
	}
	r->pids[i] = pid;
	r->npids++;
	return 0;
}

static int in_scope(const struct replay_ctx *r, const struct vg_event *ev)
{
	return !r->entry->nroots || pid_in(r, ev->proc.pid);
}

/* Follows the root= subtree: a fork or exec whose parent is in it brings the child in. */
static void track_scope(struct replay_ctx *r, const struct vg_event *ev)
{
	if (!r->entry->nroots || !ev->proc.pid || !ev->parent.pid)
		return;
	int spawn = ev->type == VG_EV_PROCESS_START;
	if (!spawn && ev->type == VG_EV_OTHER) {
		const char *t = vg_event_get(ev, "EventType");
		spawn = t && strcmp(t, "fork") == 0;
	}
	if (spawn && pid_in(r, ev->parent.pid))
		pid_add(r, ev->proc.pid);
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; hay && *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

/* The family of the attacker line naming ev's process (or, for a start, its parent), or NULL; remembered by process key. */
static const char *attacker_family(struct replay_ctx *r, const struct vg_event *ev)
{
	const char *key = ev->proc.key;
	if (!key)
		return NULL;
	const char *fam = vg_strmap_get(&r->attackers, key, strlen(key));
	if (fam)
		return fam;
	/* a start's parent passes it on; other events name their process too (its start may be before the recording) */
	if (ev->type == VG_EV_PROCESS_START && ev->parent.key &&
	    (fam = vg_strmap_get(&r->attackers, ev->parent.key, strlen(ev->parent.key))))
		goto add;
	for (size_t i = 0; i < r->labels->nattackers; i++) {
		const struct vg_corpus_attacker *a = &r->labels->attackers[i];
		if (strcmp(a->recording, r->entry->recording) != 0)
			continue;
		if (contains_ci(a->command ? ev->proc.command_line : ev->proc.image, a->text)) {
			fam = a->family;
			goto add;
		}
	}
	return NULL;
add:
	vg_strmap_put(&r->attackers, key, strlen(key), (void *)fam, NULL);
	return fam;
}

/* A stand-in id for a Windows program whose start logged no SHA256: SHA-256 of its lower-cased path. */
static int standin_sha(const char *image, char out[65])
{
	unsigned char d[32];
	unsigned int dl = 0;
	struct vg_buf b = { 0 };
	if (!image || !*image)
		return 0;
	vg_buf_puts(&b, "vigil-corpus-standin:");
	for (const char *p = image; *p; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
		vg_buf_put(&b, &c, 1);
	}
	int ok = !b.oom && EVP_Digest(b.p, b.len, d, &dl, EVP_sha256(), NULL) && dl == 32;
	vg_buf_free(&b);
	for (int i = 0; ok && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return ok;
}

/* The process chain's executable names, root first, '/'-joined (the dedupe key's middle). */
static void chain_names(struct vg_tree *tree, const struct vg_event *ev, struct vg_buf *b)
{
	const struct vg_proc_node *chain[VG_SIGNAL_CHAIN_MAX];
	size_t n = 0;
	const struct vg_proc_node *node = ev->proc.key ? vg_tree_get(tree, ev->proc.key) : NULL;
	while (node && n < VG_SIGNAL_CHAIN_MAX) {
		chain[n++] = node;
		node = vg_tree_parent(tree, node);
	}
	for (size_t i = n; i-- > 0;) {
		const char *img = chain[i]->image ? chain[i]->image : "?";
		const char *s = strrchr(img, '/'), *w = strrchr(img, '\\');
		if (w && (!s || w > s))
			s = w;
		vg_buf_puts(b, s ? s + 1 : img);
		vg_buf_put(b, "/", 1);
	}
}

/* Writes one corpus line for ev (rule NULL: its start), unless out of scope, packaged (unpackaged option) or seen. */
static void emit(struct replay_ctx *r, const struct vg_rule *rule, const struct vg_event *ev)
{
	char sha[65];
	const char *fj = NULL;
	struct corpus_stats *st = r->st;

	if (!in_scope(r, ev)) {
		st->out_of_scope++;
		return;
	}
	int have = vg_signal_sha256(ev->proc.hashes, sha);
	int packaged = ev->type == VG_EV_PROCESS_START && system_program(ev);
	const struct exe_info *xi = ev->proc.key ? vg_strmap_get(&r->exe, ev->proc.key, strlen(ev->proc.key)) : NULL;
	if (xi && (!have || strcmp(xi->sha, sha) == 0)) { /* as the cloud client: the start's facts */
		memcpy(sha, xi->sha, 65);
		have = 1;
		fj = xi->file_json;
		packaged |= xi->packaged;
	}
	if (r->entry->unpackaged && packaged) {
		st->skipped_packaged++;
		return;
	}
	if (!have && ev->platform == VG_PLATFORM_WINDOWS)
		have = standin_sha(ev->proc.image, sha);
	if (!have) {
		st->no_hash++;
		return;
	}
	const char *label = r->entry->label, *family = r->entry->family;
	const char *afam = attacker_family(r, ev);
	if (afam) {
		label = "malicious";
		family = afam;
	}
	/* dedupe within the recording: class, file, chain names, rule */
	vg_buf_reset(&r->line);
	vg_buf_puts(&r->line, label);
	vg_buf_put(&r->line, "\t", 1);
	vg_buf_puts(&r->line, sha);
	vg_buf_put(&r->line, "\t", 1);
	chain_names(vg_agent_tree(r->agent), ev, &r->line);
	vg_buf_put(&r->line, "\t", 1);
	vg_buf_puts(&r->line, rule && rule->id ? rule->id : "start");
	if (r->line.oom)
		return;
	if (vg_strmap_get(&r->seen, r->line.p, r->line.len)) {
		st->duplicates++;
		return;
	}
	vg_strmap_put(&r->seen, r->line.p, r->line.len, (void *)1, NULL);

	vg_buf_reset(&r->file);
	if (!fj) {
		vg_signal_build_file(ev, sha, &r->file);
		vg_buf_put(&r->file, "", 1);
		fj = r->file.oom ? "{}" : r->file.p;
	}
	const char *uw = vg_event_get(ev, "VigilImageUserWritable");
	const char *behavior = uw && strcmp(uw, "true") == 0 ? VG_SIGNAL_NEW_EXE_BEHAVIOR : "vigil.process_start";
	vg_buf_reset(&r->sig);
	vg_signal_build(r->endpoint, NULL, vg_agent_tree(r->agent), rule, behavior, ev, sha, fj, &r->sig);

	vg_buf_reset(&r->line);
	int first = 1;
	vg_buf_put(&r->line, "{", 1);
	vg_buf_json_kv(&r->line, &first, "label", label);
	vg_buf_json_kv(&r->line, &first, "platform", r->entry->platform);
	vg_buf_json_kv(&r->line, &first, "family", strcmp(label, "benign") == 0 ? "none" : family);
	vg_buf_json_kv(&r->line, &first, "group", r->entry->group);
	vg_buf_json_kv(&r->line, &first, "source", r->entry->recording);
	vg_buf_json_key(&r->line, &first, "signal");
	vg_buf_put(&r->line, r->sig.p, r->sig.len);
	vg_buf_put(&r->line, "}\n", 2);
	if (r->line.oom || r->sig.oom)
		return;
	fwrite(r->line.p, 1, r->line.len, r->out);
	st->lines++;
	if (strcmp(label, "benign") == 0)
		st->benign++;
	else
		st->malicious++;
}

/* The agent's match hook: every rule match the agent would act on becomes a signal, as the cloud client sends it. */
static int on_match(void *ctx, const struct vg_rule *rule, const struct vg_event *ev, struct vg_buf *extra)
{
	(void)extra;
	emit(ctx, rule, ev);
	return 0;
}

/* Remembers a start's executable facts for the signals its later events raise (as the cloud client does). */
static void remember_start(struct replay_ctx *r, const struct vg_event *ev)
{
	struct exe_info head = { 0 };
	struct vg_buf b = { 0 };
	void *old = NULL;

	if (!ev->proc.key || !vg_signal_sha256(ev->proc.hashes, head.sha))
		return;
	head.packaged = system_program(ev);
	vg_buf_put(&b, (const char *)&head, sizeof(head));
	vg_signal_build_file(ev, head.sha, &b);
	vg_buf_put(&b, "", 1);
	if (b.oom || vg_strmap_put(&r->exe, ev->proc.key, strlen(ev->proc.key), b.p, &old)) {
		vg_buf_free(&b);
		return;
	}
	free(old);
}

static void free_map_values(struct vg_strmap *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].key)
			free(m->slots[i].value);
	vg_strmap_free(m);
}

/* "ep-" and 16 hex digits of SHA-256(recording): a stand-in endpoint id that says nothing of the recording's name (nor its class). */
static void endpoint_of(const char *recording, char *out, size_t len)
{
	unsigned char d[32];
	unsigned int dl = 0;
	if (!EVP_Digest(recording, strlen(recording), d, &dl, EVP_sha256(), NULL) || dl != 32) {
		snprintf(out, len, "ep-unknown");
		return;
	}
	snprintf(out, len, "ep-");
	for (int i = 0; i < 8 && 3 + 2 * (size_t)i + 2 < len; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", d[i]);
}

static int replay_one(const struct vg_corpus_labels *labels, const struct vg_corpus_entry *e, const char *path,
		      const char *manifest, FILE *out, struct corpus_stats *st)
{
	struct vg_agent_config cfg;
	struct replay_ctx r = { 0 };
	struct vg_source *src = NULL;
	struct vg_event *ev = NULL;
	char err[512];
	int rc;

	if ((rc = vg_source_open(path, VG_FMT_AUTO, &src))) {
		fprintf(stderr, "%s:%u: recording %s: cannot read: %s (skipped)\n", manifest, e->line, path, vg_strerror(rc));
		st->missing++;
		return 0;
	}
	if (vg_agent_config_defaults(&cfg)) {
		vg_source_free(src);
		return VG_ENOMEM;
	}
	free(cfg.alert_log);
	cfg.alert_log = vg_strdup("/dev/null");
	cfg.mode = VG_AGENT_AUDIT;
	if (!cfg.alert_log || (rc = vg_agent_new(&cfg, &r.agent, err, sizeof(err)))) {
		fprintf(stderr, "vigil corpus: %s\n", cfg.alert_log ? err : "out of memory");
		vg_agent_config_free(&cfg);
		vg_source_free(src);
		return rc ? rc : VG_ENOMEM;
	}
	vg_agent_config_free(&cfg);
	r.labels = labels;
	r.entry = e;
	r.out = out;
	r.st = st;
	endpoint_of(e->recording, r.endpoint, sizeof(r.endpoint));
	vg_strmap_init(&r.exe, 0);
	vg_strmap_init(&r.seen, 0);
	vg_strmap_init(&r.attackers, 1);
	for (size_t i = 0; i < e->nroots; i++)
		pid_add(&r, e->roots[i]);
	vg_agent_set_match_hook(r.agent, on_match, &r);
	if (!(ev = vg_event_new())) {
		rc = VG_ENOMEM;
		goto done;
	}
	st->recordings++;
	for (;;) {
		rc = vg_source_next(src, ev);
		if (rc == 0)
			break;
		if (rc == VG_ENOMEM)
			goto done;
		if (rc < 0) /* reported by the source with file:position (or EVTX slack it could not decode); go on */
			continue;
		st->events++;
		track_scope(&r, ev);
		for (size_t k = 0; k < e->nroots; k++)
			if (ev->proc.pid == e->roots[k]) { /* the workload's root starts the chain: the recording harness above it is not the endpoint's */
				memset(&ev->parent, 0, sizeof(ev->parent));
			}
		if (ev->type == VG_EV_PROCESS_START)
			attacker_family(&r, ev); /* before the rules: a match on the start is the attacker's too */
		if (vg_agent_handle(r.agent, ev) == VG_ENOMEM) {
			rc = VG_ENOMEM;
			goto done;
		}
		if (ev->type == VG_EV_PROCESS_START) {
			emit(&r, NULL, ev); /* as if every exec were signalled */
			remember_start(&r, ev);
		}
	}
	rc = 0;
done:
	st->bad_records += vg_source_stats(src)->errors;
	vg_agent_free(r.agent); /* flushes correlations: their matches still reach the hook */
	vg_event_free(ev);
	vg_source_free(src);
	free_map_values(&r.exe);
	vg_strmap_free(&r.seen);
	vg_strmap_free(&r.attackers);
	free(r.pids);
	vg_buf_free(&r.line);
	vg_buf_free(&r.sig);
	vg_buf_free(&r.file);
	return rc;
}

static void on_bad_line(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct corpus_stats *st = ctx;
	st->bad_manifest_lines++;
	fprintf(stderr, "%s:%u: %s (line skipped)\n", name, line, reason);
}


int vg_cli_corpus(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, 0, 'd' },
		{ "platform", required_argument, 0, 'p' },
		{ "out", required_argument, 0, 'o' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *data = NULL, *platform = NULL, *out_path = NULL;
	struct corpus_stats st = { 0 };
	int c, status = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'p': platform = optarg; break;
		case 'o': out_path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (platform && strcmp(platform, "linux") != 0 && strcmp(platform, "windows") != 0) {
		fprintf(stderr, "vigil corpus: --platform: '%s' is not linux or windows\n", platform);
		return 2;
	}
	FILE *out = stdout;
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "vigil corpus: %s: %s\n", out_path, strerror(errno));
		return 2;
	}
	for (int i = optind; i < argc && !status; i++) {
		struct vg_corpus_labels labels = { 0 };
		size_t len = 0;
		char *text = vg_read_file(argv[i], &len);
		if (!text) {
			fprintf(stderr, "vigil corpus: %s: %s\n", argv[i], strerror(errno));
			status = 2;
			break;
		}
		int rc = vg_corpus_labels_parse(argv[i], text, len, &labels, on_bad_line, &st);
		free(text);
		if (rc == VG_ENOMEM) {
			fprintf(stderr, "vigil corpus: out of memory\n");
			vg_corpus_labels_free(&labels);
			status = 2;
			break;
		}
		/* attacker lines must name a recording of the manifest */
		for (size_t k = 0; k < labels.nattackers; k++) {
			size_t j = 0;
			while (j < labels.nentries && strcmp(labels.entries[j].recording, labels.attackers[k].recording) != 0)
				j++;
			if (j == labels.nentries) {
				fprintf(stderr, "%s:%u: attacker line names %s, which no recording line lists (ignored)\n",
					argv[i], labels.attackers[k].line, labels.attackers[k].recording);
				st.bad_manifest_lines++;
			}
		}
		char dir[4096];
		const char *slash = strrchr(argv[i], '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - argv[i]) : 1, slash ? argv[i] : ".");
		for (size_t k = 0; k < labels.nentries && !status; k++) {
			const struct vg_corpus_entry *e = &labels.entries[k];
			if (platform && strcmp(platform, e->platform) != 0)
				continue;
			char path[8192];
			if (e->recording[0] == '/')
				snprintf(path, sizeof(path), "%s", e->recording);
			else
				snprintf(path, sizeof(path), "%s/%s", data ? data : dir, e->recording);
			if (replay_one(&labels, e, path, argv[i], out, &st)) {
				fprintf(stderr, "vigil corpus: out of memory\n");
				status = 2;
			}
		}
		vg_corpus_labels_free(&labels);
	}
	if (out != stdout && fclose(out) != 0) {
		fprintf(stderr, "vigil corpus: %s: %s\n", out_path, strerror(errno));
		status = 2;
	} else if (out == stdout) {
		fflush(stdout);
	}
	fprintf(stderr,
		"vigil corpus: %llu recordings (%llu missing), %llu events, %llu bad records, %llu bad manifest lines; "
		"%llu lines (%llu benign, %llu malicious), %llu duplicates, %llu system programs left out, "
		"%llu without sha256, %llu outside the root= subtree\n",
		(unsigned long long)st.recordings, (unsigned long long)st.missing, (unsigned long long)st.events,
		(unsigned long long)st.bad_records, (unsigned long long)st.bad_manifest_lines,
		(unsigned long long)st.lines, (unsigned long long)st.benign, (unsigned long long)st.malicious,
		(unsigned long long)st.duplicates, (unsigned long long)st.skipped_packaged,
		(unsigned long long)st.no_hash, (unsigned long long)st.out_of_scope);
	if (!status && (st.missing || st.bad_manifest_lines || st.bad_records))
		status = 1; /* everything usable was written; say that some input was not */
	return status;
}
