/* features.c - turns a behavior signal (POST /v1/signals body) plus the cloud's fleet facts into the dense vector and hashed tokens the models read; one code path for vigil-cloud and `vigil train` (docs/features.md). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/embedded.h"
#include "vigil/linux.h"
#include "vigil/ml.h"
#include "vigil/sigma.h"
#include "vigil/winpath.h"

static const char *const feature_names[VG_ML_NDENSE] = {
	"path_class", "path_user_writable", "path_temp", "path_system", "path_hidden", "path_depth",
	"sysbin_masquerade", "packaged", "file_age", "size", "entropy", "elf", "elf_type", "elf_static",
	"elf_stripped", "elf_packed", "elf_interp", "name_len", "name_digits", "name_dot", "chain_depth",
	"parent_class", "parent_user_writable", "parent_shell", "grandparent_class", "grandparent_user_writable",
	"cmd_len", "cmd_tokens", "cmd_url", "cmd_ip", "cmd_encoded", "nrules", "nbehaviors", "max_rule_level",
	"new_exe_only", "tokens_dropped", "prevalence", "fleet_age", "pair_prevalence",
};

const char *vg_ml_feature_name(enum vg_ml_feature f)
{
	return (unsigned)f < VG_ML_NDENSE ? feature_names[f] : "?";
}

const char *vg_ml_platform_name(enum vg_ml_platform p)
{
	return p == VG_ML_WINDOWS ? "windows" : "linux";
}

int vg_ml_platform_parse(const char *s, enum vg_ml_platform *out)
{
	if (s && strcmp(s, "linux") == 0)
		*out = VG_ML_LINUX;
	else if (s && strcmp(s, "windows") == 0)
		*out = VG_ML_WINDOWS;
	else
		return VG_EINVAL;
	return 0;
}

/* ---- signal access ---- */

static const struct vg_json_leaf *leaf_at(const struct vg_json_doc *d, const char *path)
{
	size_t n = strlen(path);
	for (uint32_t i = 0; i < d->nleaves; i++)
		if (d->leaves[i].path_len == n && memcmp(d->leaves[i].path, path, n) == 0)
			return &d->leaves[i];
	return NULL;
}

static const char *str_at(const struct vg_json_doc *d, const char *path)
{
	const struct vg_json_leaf *l = leaf_at(d, path);
	return l && l->type == VG_JSON_STRING && !l->in_array ? l->value : NULL;
}

static double num_at(const struct vg_json_doc *d, const char *path)
{
	const struct vg_json_leaf *l = leaf_at(d, path);
	if (!l || l->type != VG_JSON_NUMBER || l->in_array)
		return NAN;
	double v = strtod(l->value, NULL);
	return isfinite(v) ? v : NAN;
}

/* 1 true, 0 false, -1 absent or not a boolean. */
static int bool_at(const struct vg_json_doc *d, const char *path)
{
	const struct vg_json_leaf *l = leaf_at(d, path);
	if (!l || l->in_array)
		return -1;
	return l->type == VG_JSON_TRUE ? 1 : l->type == VG_JSON_FALSE ? 0 : -1;
}

#define CHAIN_MAX 16
struct chain_elem {
	const char *image, *cmd;
};

/*
 * process_chain elements, root first. The flattener gives every element's
 * leaves the same paths in document order, so an element ends where a key
 * repeats. Keeps the last CHAIN_MAX elements (the ones nearest the process).
 */
static size_t read_chain(const struct vg_json_doc *d, struct chain_elem *out, size_t *total)
{
	size_t n = 0, count = 0;
	int have_image = 0, have_cmd = 0, have_other = 0, open = 0;
	struct chain_elem cur = { 0 };
	static const char pfx[] = "process_chain.";
	for (uint32_t i = 0; i < d->nleaves; i++) {
		const struct vg_json_leaf *l = &d->leaves[i];
		if (l->path_len < sizeof(pfx) - 1 || memcmp(l->path, pfx, sizeof(pfx) - 1) != 0)
			continue;
		const char *key = l->path + sizeof(pfx) - 1;
		int is_image = strcmp(key, "image") == 0, is_cmd = strcmp(key, "command_line") == 0;
		int is_pid = strcmp(key, "pid") == 0;
		if (open && ((is_image && have_image) || (is_cmd && have_cmd) || (is_pid && have_other))) {
			out[n % CHAIN_MAX] = cur;
			n++;
			count++;
			memset(&cur, 0, sizeof(cur));
			have_image = have_cmd = have_other = 0;
		}
		open = 1;
		if (is_image) {
			have_image = 1;
			cur.image = l->type == VG_JSON_STRING ? l->value : NULL;
		} else if (is_cmd) {
			have_cmd = 1;
			cur.cmd = l->type == VG_JSON_STRING ? l->value : NULL;
		} else if (is_pid) {
			have_other = 1;
		}
	}
	if (open) {
		out[n % CHAIN_MAX] = cur;
		n++;
		count++;
	}
	*total = count;
	if (n > CHAIN_MAX) { /* rotate the ring so out[0] is the oldest kept */
		struct chain_elem tmp[CHAIN_MAX];
		for (size_t i = 0; i < CHAIN_MAX; i++)
			tmp[i] = out[(n + i) % CHAIN_MAX];
		memcpy(out, tmp, sizeof(tmp));
		n = CHAIN_MAX;
	}
	return n;
}

static int windows_path(const char *p)
{
	if (!p || !*p)
		return 0;
	if (((p[0] | 32) >= 'a' && (p[0] | 32) <= 'z') && p[1] == ':')
		return 1;
	return strchr(p, '\\') != NULL;
}

enum vg_ml_platform vg_ml_signal_platform(const struct vg_json_doc *signal)
{
	const char *p = str_at(signal, "file.path");
	if (!p) {
		struct chain_elem ch[CHAIN_MAX];
		size_t total, n = read_chain(signal, ch, &total);
		p = n ? ch[n - 1].image : NULL;
	}
	return windows_path(p) ? VG_ML_WINDOWS : VG_ML_LINUX;
}

static const char *base_name(const char *p)
{
	const char *b = p;
	for (const char *s = p; *s; s++)
		if (*s == '/' || *s == '\\')
			b = s + 1;
	return b;
}

/* Lower-cased base name of path into buf (at most len-1 bytes). */
static size_t lower_base(const char *path, char *buf, size_t len)
{
	size_t n = 0;
	if (path)
		for (const char *s = base_name(path); *s && n + 1 < len; s++)
			buf[n++] = (char)vg_lower((unsigned char)*s);
	buf[n] = '\0';
	return n;
}

size_t vg_ml_pair_key(const struct vg_json_doc *signal, char *buf, size_t len)
{
	struct chain_elem ch[CHAIN_MAX];
	size_t total, n = read_chain(signal, ch, &total);
	char a[64], b[64];
	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (n < 2 || !ch[n - 1].image || !ch[n - 2].image)
		return 0;
	lower_base(ch[n - 2].image, a, sizeof(a));
	lower_base(ch[n - 1].image, b, sizeof(b));
	int w = snprintf(buf, len, "%s>%s", a, b);
	return w < 0 ? 0 : (size_t)w < len ? (size_t)w : len - 1;
}

/* ---- path classes ---- */

struct path_facts {
	int cls, user_writable, temp, system, hidden, depth;
};

static void classify(enum vg_ml_platform p, const char *path, struct path_facts *out)
{
	memset(out, 0, sizeof(*out));
	if (!path || !*path) {
		out->cls = -1;
		return;
	}
	if (p == VG_ML_WINDOWS) {
		enum vg_path_class c = vg_path_classify(path, strlen(path));
		out->cls = (int)c;
		out->user_writable = vg_path_class_user_writable(c) || c == VG_PATH_WINDOWS_WRITABLE;
		out->temp = c == VG_PATH_TEMP;
		out->system = c == VG_PATH_SYSTEM || c == VG_PATH_PROGRAM_FILES;
	} else {
		enum vg_linux_path_class c = vg_linux_path_class(path);
		out->cls = (int)c;
		out->user_writable = vg_linux_path_user_writable(c);
		out->temp = c == VG_LPATH_TEMP || c == VG_LPATH_SHM;
		out->system = c == VG_LPATH_SYSTEM;
	}
	for (const char *s = path; *s; s++) {
		if (*s != '/' && *s != '\\')
			continue;
		if (s[1])
			out->depth++;
		if (s[1] == '.' && s[2] && s[2] != '.' && s[2] != '/' && s[2] != '\\')
			out->hidden = 1;
	}
	if (out->depth > 0)
		out->depth--; /* folders, not the file itself */
}

/* ---- system binary names ---- */

/* Programs every Debian system has in /usr/bin or /usr/sbin, and daemons attackers name their files after. */
static const char *const linux_sysbins[] = {
	"agetty", "apt", "apt-get", "awk", "bash", "cat", "chmod", "chown", "cp", "cron", "crond", "curl", "dash",
	"date", "dbus-daemon", "dd", "dhclient", "df", "dmesg", "dpkg", "du", "echo", "env", "find", "grep",
	"gzip", "head", "hostname", "id", "init", "ip", "journalctl", "kill", "kmod", "less", "ln", "login",
	"ls", "lsof", "mkdir", "mount", "mv", "netstat", "networkd-dispatcher", "nginx", "perl", "ping", "ps",
	"python3", "rm", "rsyslogd", "sed", "sh", "sleep", "snapd", "sort", "ss", "ssh", "sshd", "su", "sudo",
	"systemctl", "systemd", "systemd-journald", "systemd-logind", "systemd-networkd", "systemd-resolved",
	"systemd-udevd", "tail", "tar", "top", "touch", "udevd", "umount", "uname", "wget", "whoami", "xargs",
};

static int linux_sysbin(const char *name)
{
	for (size_t i = 0; i < sizeof(linux_sysbins) / sizeof(*linux_sysbins); i++)
		if (strcmp(linux_sysbins[i], name) == 0)
			return 1;
	return 0;
}

/* Windows names from rules/data/windows-system-binaries.tsv (compiled in), as sorted hashes. */
static uint64_t *win_sysbins;
static size_t win_nsysbins;
static pthread_once_t win_once = PTHREAD_ONCE_INIT;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void load_win_sysbins(void)
{
	size_t cap = 0;
	for (const char *s = vg_embedded_sysbins; *s;) {
		const char *eol = strchr(s, '\n');
		size_t n = eol ? (size_t)(eol - s) : strlen(s);
		const char *tab = memchr(s, '\t', n);
		if (s[0] != '#' && tab && tab > s) {
			if (win_nsysbins == cap) {
				cap = cap ? cap * 2 : 128;
				uint64_t *p = realloc(win_sysbins, cap * sizeof(*p));
				if (!p)
					break;
				win_sysbins = p;
			}
			win_sysbins[win_nsysbins++] = vg_hash_bytes_ci(s, (size_t)(tab - s));
		}
		s += n + (eol ? 1 : 0);
	}
	if (win_sysbins)
		qsort(win_sysbins, win_nsysbins, sizeof(*win_sysbins), cmp_u64);
}

static int windows_sysbin(const char *name)
{
	pthread_once(&win_once, load_win_sysbins);
	uint64_t h = vg_hash_bytes_ci(name, strlen(name));
	return win_sysbins && bsearch(&h, win_sysbins, win_nsysbins, sizeof(h), cmp_u64) != NULL;
}

static int shell_name(enum vg_ml_platform p, const char *name)
{
	static const char *const lin[] = { "sh", "bash", "dash", "zsh", "ksh", "fish", "busybox", "env",
					   "perl", "ruby", "php", "node", "lua" };
	static const char *const win[] = { "cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe", "cscript.exe",
					   "mshta.exe", "rundll32.exe", "regsvr32.exe", "wmic.exe" };
	if (p == VG_ML_LINUX) {
		if (strncmp(name, "python", 6) == 0)
			return 1;
		for (size_t i = 0; i < sizeof(lin) / sizeof(*lin); i++)
			if (strcmp(lin[i], name) == 0)
				return 1;
	} else {
		for (size_t i = 0; i < sizeof(win) / sizeof(*win); i++)
			if (strcmp(win[i], name) == 0)
				return 1;
	}
	return 0;
}

/* ---- tokens ---- */

struct tokens {
	uint32_t *t;
	uint32_t n, dropped;
};

/* Adds the token ns:text (text n bytes) to the set, hashed into VG_ML_HASH_SIZE buckets. */
static void add_token(struct tokens *tk, const char *ns, const char *text, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *s = ns; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0x1f) * 1099511628211ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
	h ^= h >> 29; /* fold the high bits in: FNV's low bits mix poorly */
	uint32_t b = (uint32_t)(h & (VG_ML_HASH_SIZE - 1));
	for (uint32_t i = 0; i < tk->n; i++)
		if (tk->t[i] == b)
			return;
	if (tk->n == VG_ML_MAX_TOKENS) {
		tk->dropped++;
		return;
	}
	tk->t[tk->n++] = b;
}

/*
 * Normalizes a piece of text into a token: lower case, every run of digits
 * becomes one '0' (randomized names and versions fold together), at most 40
 * bytes. Returns the length.
 */
static size_t normalize(const char *s, size_t n, char *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n && m < 40; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= '0' && c <= '9') {
			if (m && out[m - 1] == '0')
				continue;
			out[m++] = '0';
		} else {
			out[m++] = (char)vg_lower(c);
		}
	}
	return m;
}

static void add_norm(struct tokens *tk, const char *ns, const char *s, size_t n)
{
	char buf[48];
	size_t m = normalize(s, n, buf);
	if (m)
		add_token(tk, ns, buf, m);
}

/* Folders of a path as tokens ("d:usr", "d:<user>" for the name under /home or C:\Users). */
static void add_dirs(struct tokens *tk, const char *path)
{
	const char *base = base_name(path);
	const char *s = path;
	int prev_home = 0;
	while (s < base) {
		while (s < base && (*s == '/' || *s == '\\'))
			s++;
		const char *e = s;
		while (e < base && *e != '/' && *e != '\\')
			e++;
		if (e == s)
			break;
		if (prev_home)
			add_token(tk, "d", "<user>", 6);
		else
			add_norm(tk, "d", s, (size_t)(e - s));
		prev_home = ((e - s) == 4 && vg_strncaseeq(s, "home", 4)) || ((e - s) == 5 && vg_strncaseeq(s, "users", 5));
		s = e;
	}
}

/* Command-line features and tokens ("c:..."): split on blanks, quotes and = , ; */
static void command_line(struct tokens *tk, const char *cmd, float *dense)
{
	size_t len = strlen(cmd), ntok = 0;
	int url = strstr(cmd, "://") != NULL, ip = 0, enc = 0;
	const char *s = cmd;
	while (*s) {
		while (*s && strchr(" \t\r\n\"'=,;", *s))
			s++;
		const char *e = s;
		while (*e && !strchr(" \t\r\n\"'=,;", *e))
			e++;
		if (e == s)
			break;
		size_t n = (size_t)(e - s), alnum = 0, dots = 0, digits = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
			    c == '/')
				alnum++;
			if (c == '.')
				dots++;
			if (c >= '0' && c <= '9')
				digits++;
		}
		if (n >= 40 && alnum + 2 >= n)
			enc = 1;
		if (dots == 3 && digits + dots >= n - 6 && digits >= 4)
			ip = 1;
		/* a path argument: its base name is the token (the folders say little once classed) */
		const char *b = s;
		for (const char *q = s; q < e; q++)
			if (*q == '/' || *q == '\\')
				b = q + 1;
		if (ntok == 0 || b != s) {
			if (e > b)
				add_norm(tk, ntok == 0 ? "a0" : "c", b, (size_t)(e - b));
		} else if (n >= 40) {
			add_token(tk, "c", "<long>", 6);
		} else {
			add_norm(tk, "c", s, n);
		}
		ntok++;
		s = e;
	}
	dense[VG_MLF_CMD_LEN] = (float)log2(1.0 + (double)len);
	dense[VG_MLF_CMD_TOKENS] = (float)ntok;
	dense[VG_MLF_CMD_URL] = (float)url;
	dense[VG_MLF_CMD_IP] = (float)ip;
	dense[VG_MLF_CMD_ENCODED] = (float)enc;
}

static int rule_level(const struct vg_ruleset *rules, const char *id, size_t n)
{
	if (!rules)
		return -1;
	for (size_t i = 0, cnt = vg_ruleset_count(rules); i < cnt; i++) {
		const struct vg_rule *r = vg_ruleset_rule(rules, i);
		if (r->id && strlen(r->id) == n && vg_strncaseeq(r->id, id, n))
			return (int)r->level;
	}
	return -1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void vg_ml_features_extract(const struct vg_json_doc *signal, const struct vg_ml_cloud_facts *facts,
			    const struct vg_ruleset *rules, struct vg_ml_features *out)
{
	struct tokens tk = { out->tokens, 0, 0 };
	float *x = out->dense;
	enum vg_ml_platform p = vg_ml_signal_platform(signal);
	struct chain_elem ch[CHAIN_MAX];
	size_t chain_total, nch = read_chain(signal, ch, &chain_total);
	struct path_facts pf;
	char name[64];

	out->platform = p;
	out->behavior_key = 0;
	for (size_t i = 0; i < VG_ML_NDENSE; i++)
		x[i] = NAN;

	/* the file and its path */
	const char *path = str_at(signal, "file.path");
	if (!path && nch)
		path = ch[nch - 1].image;
	classify(p, path, &pf);
	if (pf.cls >= 0) {
		x[VG_MLF_PATH_CLASS] = (float)pf.cls;
		x[VG_MLF_PATH_USER_WRITABLE] = (float)pf.user_writable;
		x[VG_MLF_PATH_TEMP] = (float)pf.temp;
		x[VG_MLF_PATH_SYSTEM] = (float)pf.system;
		x[VG_MLF_PATH_HIDDEN] = (float)pf.hidden;
		x[VG_MLF_PATH_DEPTH] = (float)pf.depth;
		char cls[16];
		snprintf(cls, sizeof(cls), "%d", pf.cls);
		add_token(&tk, "pc", cls, strlen(cls));
		add_dirs(&tk, path);
	}
	const char *fname = str_at(signal, "file.name");
	lower_base(fname ? fname : path, name, sizeof(name));
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (name[0]) {
		size_t n = strlen(name), digits = 0;
		for (size_t i = 0; i < n; i++)
			digits += name[i] >= '0' && name[i] <= '9';
		x[VG_MLF_NAME_LEN] = (float)n;
		x[VG_MLF_NAME_DIGITS] = (float)digits / (float)n;
		x[VG_MLF_NAME_DOT] = name[0] == '.';
		add_norm(&tk, "n", name, n);
		const char *dot = strrchr(name, '.');
		if (dot && dot != name)
			add_norm(&tk, "x", dot, strlen(dot));
		int sysbin = p == VG_ML_WINDOWS ? windows_sysbin(name) : linux_sysbin(name);
		if (pf.cls >= 0)
			x[VG_MLF_SYSBIN_MASQUERADE] = (float)(sysbin && !pf.system);
	}
	const struct vg_json_leaf *l = leaf_at(signal, "file.package");
	if (l && !l->in_array) {
		if (l->type == VG_JSON_STRING && l->value_len) {
			x[VG_MLF_PACKAGED] = 1;
			add_token(&tk, "pkg", "yes", 3);
		} else if (l->type == VG_JSON_NULL || l->type == VG_JSON_STRING) {
			x[VG_MLF_PACKAGED] = 0;
		}
	}
	const char *t_sig = str_at(signal, "time"), *t_file = str_at(signal, "file.first_seen");
	int64_t ns_sig, ns_file;
	if (t_sig && t_file && !vg_time_parse(t_sig, strlen(t_sig), &ns_sig) &&
	    !vg_time_parse(t_file, strlen(t_file), &ns_file)) {
		double age = (double)(ns_sig - ns_file) / 1e9;
		x[VG_MLF_FILE_AGE] = (float)log1p(age > 0 ? age : 0);
	}
	double size = num_at(signal, "file.size");
	if (size >= 0)
		x[VG_MLF_SIZE] = (float)log2(1.0 + size);
	double ent = num_at(signal, "file.entropy");
	if (ent >= 0 && ent <= 8)
		x[VG_MLF_ENTROPY] = (float)ent;

	/* ELF facts */
	const char *etype = str_at(signal, "file.elf.type");
	int b;
	x[VG_MLF_ELF] = etype != NULL;
	if (etype) {
		static const char *const types[] = { "exec", "dyn", "rel", "core" };
		x[VG_MLF_ELF_TYPE] = 5;
		for (size_t i = 0; i < 4; i++)
			if (strcmp(etype, types[i]) == 0)
				x[VG_MLF_ELF_TYPE] = (float)(i + 1);
		if ((b = bool_at(signal, "file.elf.static")) >= 0)
			x[VG_MLF_ELF_STATIC] = (float)b;
		if ((b = bool_at(signal, "file.elf.stripped")) >= 0)
			x[VG_MLF_ELF_STRIPPED] = (float)b;
		if ((b = bool_at(signal, "file.elf.packed")) >= 0)
			x[VG_MLF_ELF_PACKED] = (float)b;
		const char *interp = str_at(signal, "file.elf.interpreter");
		x[VG_MLF_ELF_INTERP] = interp && *interp;
		add_norm(&tk, "et", etype, strlen(etype));
		const char *mach = str_at(signal, "file.elf.machine");
		if (mach)
			add_norm(&tk, "em", mach, strlen(mach));
	}

	/* the parent chain */
	x[VG_MLF_CHAIN_DEPTH] = (float)chain_total;
	char pname[64] = "", gname[64] = "";
	if (nch >= 2 && ch[nch - 2].image) {
		classify(p, ch[nch - 2].image, &pf);
		lower_base(ch[nch - 2].image, pname, sizeof(pname));
		x[VG_MLF_PARENT_CLASS] = (float)pf.cls;
		x[VG_MLF_PARENT_USER_WRITABLE] = (float)pf.user_writable;
		x[VG_MLF_PARENT_SHELL] = (float)shell_name(p, pname);
		add_norm(&tk, "p", pname, strlen(pname));
		char pair[136];
		int n = snprintf(pair, sizeof(pair), "%s>%s", pname, name);
		add_norm(&tk, "pp", pair, (size_t)n < sizeof(pair) ? (size_t)n : sizeof(pair) - 1);
	}
	if (nch >= 3 && ch[nch - 3].image) {
		classify(p, ch[nch - 3].image, &pf);
		lower_base(ch[nch - 3].image, gname, sizeof(gname));
		x[VG_MLF_GRANDPARENT_CLASS] = (float)pf.cls;
		x[VG_MLF_GRANDPARENT_USER_WRITABLE] = (float)pf.user_writable;
		add_norm(&tk, "g", gname, strlen(gname));
	}
	if (nch && ch[nch - 1].cmd)
		command_line(&tk, ch[nch - 1].cmd, x);

	/* behaviors and rules */
	int nrules = 0, nbeh = 0, maxlevel = 0, new_exe = 0;
	uint64_t keys[64];
	size_t nkeys = 0;
	for (uint32_t i = 0; i < signal->nleaves; i++) {
		l = &signal->leaves[i];
		int is_rule = l->path_len == 8 && !memcmp(l->path, "rule_ids", 8);
		int is_beh = l->path_len == 12 && !memcmp(l->path, "behavior_ids", 12);
		if ((!is_rule && !is_beh) || l->type != VG_JSON_STRING)
			continue;
		if (is_rule) {
			nrules++;
			int lv = rule_level(rules, l->value, l->value_len);
			if (lv > maxlevel)
				maxlevel = lv;
		} else {
			nbeh++;
			if (strncmp(l->value, "vigil.", 6) == 0) /* a process start: new_user_writable_executable, process_start */
				new_exe = 1;
		}
		add_norm(&tk, is_rule ? "r" : "b", l->value, l->value_len);
		if (nkeys < 64)
			keys[nkeys++] = vg_hash_bytes_ci(l->value, l->value_len);
	}
	x[VG_MLF_NRULES] = (float)nrules;
	x[VG_MLF_NBEHAVIORS] = (float)nbeh;
	x[VG_MLF_MAX_RULE_LEVEL] = (float)maxlevel;
	x[VG_MLF_NEW_EXE_ONLY] = (float)(new_exe && nrules == 0);
	if (nkeys) {
		qsort(keys, nkeys, sizeof(*keys), cmp_u64);
		out->behavior_key = vg_hash_bytes(keys, nkeys * sizeof(*keys)) | 1;
	}

	/* what the fleet knows */
	if (facts) {
		if (facts->prevalence >= 0)
			x[VG_MLF_PREVALENCE] = (float)log1p((double)facts->prevalence);
		if (facts->fleet_age_s >= 0)
			x[VG_MLF_FLEET_AGE] = (float)log1p(facts->fleet_age_s);
		if (facts->pair_prevalence >= 0)
			x[VG_MLF_PAIR_PREVALENCE] = (float)log1p((double)facts->pair_prevalence);
	}
	x[VG_MLF_TOKENS_DROPPED] = (float)tk.dropped;
	qsort(out->tokens, tk.n, sizeof(*out->tokens), cmp_u32);
	out->ntokens = tk.n;
}
