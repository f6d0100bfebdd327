/* test_response.c - the response layer on real processes and files: policy precedence and errors, audit, exclusions, never-kill, pidfd kills with start-time checks, quarantine (also through another mount namespace), persistence undo. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/sigma_ext.h"
#include "test.h"
#include "vigil/agent.h"
#include "vigil/buf.h"
#include "vigil/event.h"
#include "vigil/proctree.h"
#include "vigil/response.h"
#include "vigil/sigma.h"

/* Root (signals to any process, chown, mount namespaces): in CI a missing capability fails, elsewhere a loud skip. */
static int need_root(int *vg_test_failed)
{
	return vg_test_need_root(vg_test_failed, "response tests");
}

static const char rules_yaml[] =
	"title: kill rule\n"
	"id: 10000000-0000-0000-0000-000000000001\n"
	"logsource: {product: linux, category: process_creation}\n"
	"detection: {sel: {Image|endswith: '/vg-evil'}, condition: sel}\n"
	"level: high\n"
	"vigil: {action: kill}\n"
	"---\n"
	"title: plain rule (SigmaHQ style)\n"
	"id: 10000000-0000-0000-0000-000000000002\n"
	"logsource: {product: linux, category: process_creation}\n"
	"detection: {sel: {Image|endswith: '/vg-plain'}, condition: sel}\n"
	"tags: [attack.execution, attack.t1055.012]\n"
	"level: medium\n"
	"---\n"
	"title: persistence rule\n"
	"id: 10000000-0000-0000-0000-000000000003\n"
	"logsource: {product: linux, category: file_event}\n"
	"detection: {sel: {TargetFilename|endswith: '/.bashrc'}, condition: sel}\n"
	"level: high\n"
	"vigil: {action: remediate}\n"
	"---\n"
	"title: dropper rule\n"
	"id: 10000000-0000-0000-0000-000000000004\n"
	"logsource: {product: linux, category: file_event}\n"
	"detection: {sel: {TargetFilename|endswith: '/payload'}, condition: sel}\n"
	"level: high\n"
	"vigil: {action: quarantine}\n";

static struct vg_ruleset *load_rules(void)
{
	struct vg_ruleset *rs;
	if (vg_ruleset_new(&rs))
		return NULL;
	if (vg_ruleset_load_text(rs, "test", rules_yaml, sizeof(rules_yaml) - 1, NULL, NULL) != 4) {
		vg_ruleset_free(rs);
		return NULL;
	}
	return rs;
}

static const struct vg_rule *rule_by_id(const struct vg_ruleset *rs, const char *id)
{
	for (size_t i = 0; i < vg_ruleset_count(rs); i++)
		if (strcmp(vg_ruleset_rule(rs, i)->id, id) == 0)
			return vg_ruleset_rule(rs, i);
	return NULL;
}

/* ---- policy ---- */

TEST(response_policy_precedence)
{
	struct vg_ruleset *rs = load_rules();
	struct vg_policy *p;
	char why[128], err[256];
	ASSERT_TRUE(rs != NULL);
	const struct vg_rule *kill = rule_by_id(rs, "10000000-0000-0000-0000-000000000001");
	const struct vg_rule *plain = rule_by_id(rs, "10000000-0000-0000-0000-000000000002");
	ASSERT_STR_EQ(vg_rule_vigil_action(kill) ? "set" : "unset", "set");

	/* built-in policy: default alert, the rule's vigil: section decides for project rules */
	ASSERT_EQ(vg_policy_default(&p), 0);
	ASSERT_EQ(vg_policy_decide(p, kill, why, sizeof(why)), VG_ACT_KILL);
	ASSERT_STR_EQ(why, "vigil: section");
	ASSERT_EQ(vg_policy_decide(p, plain, why, sizeof(why)), VG_ACT_ALERT);
	ASSERT_STR_EQ(why, "default");
	vg_policy_free(p);

	static const char pol[] = "default: alert\n"
				  "levels: {medium: quarantine, high: alert}\n"
				  "tags: {attack.t1055: kill, attack.t1055.012: remediate, attack.execution: alert}\n"
				  "rules: {10000000-0000-0000-0000-000000000001: alert}\n";
	ASSERT_EQ(vg_policy_parse("pol", pol, sizeof(pol) - 1, &p, err, sizeof(err)), 0);
	/* rule id beats the vigil: section */
	ASSERT_EQ(vg_policy_decide(p, kill, why, sizeof(why)), VG_ACT_ALERT);
	ASSERT_STR_EQ(why, "rule 10000000-0000-0000-0000-000000000001");
	/* the longest matching tag beats shorter tags and the level */
	ASSERT_EQ(vg_policy_decide(p, plain, why, sizeof(why)), VG_ACT_REMEDIATE);
	ASSERT_STR_EQ(why, "tag attack.t1055.012");
	vg_policy_free(p);

	static const char pol2[] = "default: kill\nlevels: {medium: quarantine}\ntags: {attack.t1055: kill}\n";
	ASSERT_EQ(vg_policy_parse("pol2", pol2, sizeof(pol2) - 1, &p, err, sizeof(err)), 0);
	ASSERT_EQ(vg_policy_decide(p, plain, why, sizeof(why)), VG_ACT_KILL); /* prefix tag covers .012 */
	ASSERT_STR_EQ(why, "tag attack.t1055");
	vg_policy_free(p);
	static const char pol3[] = "default: kill\nlevels: {medium: quarantine}\n";
	ASSERT_EQ(vg_policy_parse("pol3", pol3, sizeof(pol3) - 1, &p, err, sizeof(err)), 0);
	ASSERT_EQ(vg_policy_decide(p, plain, why, sizeof(why)), VG_ACT_QUARANTINE);
	ASSERT_STR_EQ(why, "level medium");
	vg_policy_free(p);
	vg_ruleset_free(rs);
}

TEST(response_policy_errors_name_file_and_line)
{
	struct vg_policy *p = NULL;
	char err[256];
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "default: alert\nlevels:\n  high: explode\n", "pol:3: levels: unknown action 'explode'" },
		{ "default: alert\nbogus: 1\n", "pol:2: unknown key 'bogus'" },
		{ "mode: sideways\n", "pol:1: mode: 'sideways' is neither protect nor audit" },
		{ "levels: {severe: kill}\n", "pol:1: levels: unknown level 'severe'" },
		{ "exclusions:\n  sha256: [abc]\n", "pol:2: exclusions: sha256 'abc' is not 64 hex digits" },
		{ "tags: [a, b]\n", "pol:1: 'tags' must be a map" },
		{ "default: [kill\n", "pol:2: malformed YAML: did not find expected" },
		{ "- 1\n- 2\n", "pol:1: the policy must be a map" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		err[0] = '\0';
		int rc = vg_policy_parse("pol", cases[i].text, strlen(cases[i].text), &p, err, sizeof(err));
		if (rc != VG_EINVAL || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			VG_FAIL_("case %zu: rc %d, error \"%s\", want \"%s\"", i, rc, err, cases[i].want);
		ASSERT_NULL(p);
	}
	/* the committed sample is valid */
	ASSERT_EQ(vg_policy_load(VIGIL_SOURCE_DIR "/etc/vigild-policy.yml", &p, err, sizeof(err)), 0);
	vg_policy_free(p);
}

/* ---- events built like the eBPF sensor's ---- */

static char host_key[64];

static const char *pkey(struct vg_event *ev, uint32_t pid, uint64_t start)
{
	snprintf(host_key, sizeof(host_key), "host1:%u:%llu", pid, (unsigned long long)start);
	return vg_event_strdup(ev, host_key, strlen(host_key));
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct vg_event *ev_start(uint32_t pid, uint32_t ppid, const char *image)
{
	struct vg_event *ev = vg_event_new();
	char buf[32];
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->host = "host1";
	ev->time_ns = now_ns();
	ev->proc.pid = pid;
	ev->proc.key = pkey(ev, pid, vg_proc_start_ticks(pid));
	ev->proc.image = vg_event_strdup(ev, image, strlen(image));
	ev->parent.pid = ppid;
	ev->parent.key = pkey(ev, ppid, vg_proc_start_ticks(ppid));
	snprintf(buf, sizeof(buf), "%u", pid);
	vg_event_add_field(ev, "ProcessId", 9, buf, strlen(buf));
	vg_event_add_field(ev, "Image", 5, image, strlen(image));
	vg_event_add_field(ev, "CommandLine", 11, image, strlen(image));
	ev->nraw = ev->nfields;
	return ev;
}

static struct vg_event *ev_file(enum vg_event_type type, uint32_t pid, const char *image, const char *path)
{
	struct vg_event *ev = vg_event_new();
	ev->type = type;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->host = "host1";
	ev->time_ns = now_ns();
	ev->proc.pid = pid;
	ev->proc.key = pkey(ev, pid, vg_proc_start_ticks(pid));
	ev->proc.image = vg_event_strdup(ev, image, strlen(image));
	ev->file.path = vg_event_strdup(ev, path, strlen(path));
	vg_event_add_field(ev, "Image", 5, image, strlen(image));
	vg_event_add_field(ev, "TargetFilename", 14, path, strlen(path));
	ev->nraw = ev->nfields;
	return ev;
}

/* The pipeline's order for one event: tree, observe, rules -> respond. Collects the responses. */
struct harness {
	struct vg_tree *tree;
	struct vg_ruleset *rs;
	struct vg_response *resp;
	struct vg_buf out; /* every response's JSON, one per line */
};

static void on_match(const struct vg_rule *rule, const struct vg_event *ev, void *ctx)
{
	struct harness *h = ctx;
	struct vg_buf extra = { 0 };
	vg_response_respond(h->resp, rule, ev, &extra);
	vg_buf_put(&h->out, extra.p, extra.len);
	vg_buf_put(&h->out, "\n", 1);
	vg_tree_flag(h->tree, ev->proc.key, rule->level); /* as the incidents do after the hook */
	vg_buf_free(&extra);
}

static void feed(struct harness *h, struct vg_event *ev)
{
	vg_tree_update(h->tree, ev);
	vg_tree_enrich(h->tree, ev);
	vg_response_observe(h->resp, ev);
	vg_ruleset_match(h->rs, ev, on_match, h);
	vg_event_free(ev);
}

static char tmpdir[256];

static int harness_open(struct harness *h, const char *persist_root, int baseline)
{
	struct vg_response_config cfg = { 0 };
	char state[300], err[256];
	memset(h, 0, sizeof(*h));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vg-resp-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	cfg.state_dir = state;
	cfg.persist_root = persist_root;
	cfg.no_baseline = !baseline;
	if (vg_tree_new(NULL, &h->tree) || !(h->rs = load_rules()))
		return -1;
	if (vg_response_new(&cfg, h->tree, &h->resp, err, sizeof(err))) {
		fprintf(stderr, "    %s\n", err);
		return -1;
	}
	return 0;
}

/* The test runner's own path, and whether the response sees it as a user-writable place (a clone under /tmp). */
static int runner_user_writable(char *self, size_t len)
{
	static const char *const tmp[] = { "/tmp/", "/var/tmp/", "/dev/shm/", "/home/", "/root/", "/run/user/" };
	ssize_t n = readlink("/proc/self/exe", self, len - 1);
	self[n > 0 ? n : 0] = '\0';
	char *del = strstr(self, " (deleted)"); /* moved away by a quarantine already */
	if (del)
		*del = '\0';
	for (size_t i = 0; i < sizeof(tmp) / sizeof(*tmp); i++)
		if (strncmp(self, tmp[i], strlen(tmp[i])) == 0)
			return 1;
	return 0;
}

/*
 * Forked victims run the test runner itself; when it lives in a user-writable
 * place the response quarantines it like any dropped program. Put it back.
 */
static void restore_runner(void)
{
	char self[4096], cmd[8400];
	if (!runner_user_writable(self, sizeof(self)))
		return;
	if (access(self, X_OK) == 0)
		return;
	snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe '%s' && chmod 755 '%s'", (int)getpid(), self, self);
	if (system(cmd)) {
	}
}

static void harness_close(struct harness *h)
{
	char cmd[400];
	restore_runner();
	vg_response_free(h->resp);
	vg_ruleset_free(h->rs);
	vg_tree_free(h->tree);
	vg_buf_free(&h->out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (tmpdir[0] && system(cmd)) {
	}
}

static const char *out_str(struct harness *h)
{
	vg_buf_put(&h->out, "", 1);
	h->out.len--;
	return h->out.p ? h->out.p : "";
}

/* A child that forks a grandchild; both pause. Returns the child's pid, *gc the grandchild's. */
static pid_t spawn_pair(pid_t *gc, const char *name)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t c = fork();
	if (c == 0) {
		close(fds[0]);
		if (name)
			prctl(PR_SET_NAME, name);
		pid_t g = fork();
		if (g == 0) {
			for (;;)
				pause();
		}
		if (write(fds[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], gc, sizeof(*gc)) != sizeof(*gc))
		*gc = -1;
	close(fds[0]);
	return c;
}

static int killed_by_sigkill(pid_t p)
{
	int st;
	return waitpid(p, &st, 0) == p && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static void reap(pid_t p)
{
	int st;
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
	}
}

/* ---- kill ---- */

TEST(response_kill_process_and_descendants)
{
	struct harness h;
	pid_t gc;
	if (!need_root(vg_test_failed))
		return;
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* the grandchild comes back to us to be reaped */
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	pid_t c = spawn_pair(&gc, NULL);
	ASSERT_TRUE(c > 0 && gc > 0);
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/vg-evil"));
	feed(&h, ev_start((uint32_t)gc, (uint32_t)c, "/tmp/x/vg-evil-child"));
	/* the child's start matched (kill); the grandchild is found in the tree and in /proc: both must die */
	char want_c[96], want_gc[96];
	snprintf(want_c, sizeof(want_c), "{\"action\":\"kill\",\"pid\":%d,", (int)c);
	snprintf(want_gc, sizeof(want_gc), "{\"action\":\"kill\",\"pid\":%d,", (int)gc);
	const char *o = out_str(&h);
	const char *a = strstr(o, want_c), *b = strstr(o, want_gc);
	int ok = a && b && strstr(a, "\"result\":\"done\"") && strstr(b, "\"result\":\"done\"");
	if (!ok) {
		fprintf(stderr, "    responses: %s\n", o);
		reap(c);
		reap(gc);
		harness_close(&h);
		VG_FAIL_("kill not done");
	}
	ASSERT_TRUE(strstr(o, "\"decision\":\"kill\",\"why\":\"vigil: section\",\"mode\":\"protect\"") != NULL);
	ASSERT_TRUE(killed_by_sigkill(c));
	ASSERT_TRUE(killed_by_sigkill(gc));
	ASSERT_EQ(vg_response_stats(h.resp)->killed, 2);
	harness_close(&h);
}

TEST(response_audit_mode_kills_nothing)
{
	struct harness h;
	pid_t gc;
	if (!need_root(vg_test_failed))
		return;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	vg_response_set_audit(h.resp, 1);
	pid_t c = spawn_pair(&gc, NULL);
	ASSERT_TRUE(c > 0 && gc > 0);
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/vg-evil"));
	const char *o = out_str(&h);
	int alive = kill(c, 0) == 0 && kill(gc, 0) == 0 && vg_proc_start_ticks((uint32_t)c) != 0;
	int said = strstr(o, "\"result\":\"audit: would kill\"") != NULL && strstr(o, "\"mode\":\"audit\"") != NULL;
	size_t would = 0;
	for (const char *s = o; (s = strstr(s, "audit: would kill")); s++)
		would++;
	reap(c);
	reap(gc);
	harness_close(&h);
	if (!said)
		fprintf(stderr, "    responses: %s\n", o);
	ASSERT_TRUE(alive);
	ASSERT_TRUE(said);
	ASSERT_EQ(would, 2); /* the child and the grandchild found through /proc */
}

TEST(response_exclusions_and_never_kill_hold)
{
	struct harness h;
	struct vg_policy *p;
	char err[256];
	pid_t gc;
	if (!need_root(vg_test_failed))
		return;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	static const char pol[] = "never_kill: [vg-protect*]\nexclusions:\n  processes: ['/opt/excluded/*']\n";
	ASSERT_EQ(vg_policy_parse("pol", pol, sizeof(pol) - 1, &p, err, sizeof(err)), 0);
	vg_response_set_policy(h.resp, p);

	/* excluded by process path: nothing done */
	pid_t c = spawn_pair(&gc, NULL);
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/opt/excluded/vg-evil"));
	ASSERT_TRUE(strstr(out_str(&h), "\"result\":\"excluded: process /opt/excluded/*\"") != NULL);
	ASSERT_EQ(kill(c, 0), 0);
	reap(c);
	reap(gc);

	/* never-kill by name (policy addition), pid 1, and ourselves (vigild) */
	h.out.len = 0;
	c = spawn_pair(&gc, "vg-protected");
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/vg-evil"));
	const char *o = out_str(&h);
	int named = strstr(o, "\"result\":\"never-kill: vg-protect*\"") != NULL;
	int alive = kill(c, 0) == 0;
	reap(c);
	reap(gc);
	if (!named)
		fprintf(stderr, "    responses: %s\n", o);
	ASSERT_TRUE(named);
	ASSERT_TRUE(alive);

	h.out.len = 0;
	feed(&h, ev_start(1, 0, "/tmp/x/vg-evil"));
	ASSERT_TRUE(strstr(out_str(&h), "\"pid\":1,\"image\":") != NULL);
	ASSERT_TRUE(strstr(out_str(&h), "\"result\":\"never-kill: pid 1\"") != NULL);
	h.out.len = 0;
	feed(&h, ev_start((uint32_t)getpid(), (uint32_t)getppid(), "/tmp/x/vg-evil"));
	ASSERT_TRUE(strstr(out_str(&h), "\"result\":\"never-kill: vigild\"") != NULL);
	harness_close(&h);

	/* unit checks: the built-in list needs a package location; exclusions by rule, path, sha256 */
	ASSERT_EQ(vg_policy_parse("pol", pol, sizeof(pol) - 1, &p, err, sizeof(err)), 0);
	char why[128];
	ASSERT_EQ(vg_policy_never_kill(p, "/usr/sbin/sshd", "sshd", why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "sshd");
	ASSERT_EQ(vg_policy_never_kill(p, "/usr/bin/apt-get", NULL, why, sizeof(why)), 1);
	ASSERT_EQ(vg_policy_never_kill(p, "/tmp/sshd", "sshd", why, sizeof(why)), 0);
	vg_policy_free(p);
	static const char pol2[] = "exclusions:\n  rules: [10000000-0000-0000-0000-000000000001]\n"
				   "  paths: ['/srv/*.bin']\n"
				   "  sha256: [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]\n";
	ASSERT_EQ(vg_policy_parse("pol2", pol2, sizeof(pol2) - 1, &p, err, sizeof(err)), 0);
	struct vg_ruleset *rs = load_rules();
	struct vg_event *ev = ev_file(VG_EV_FILE_CREATE, 1, "/bin/x", "/srv/a.bin");
	ASSERT_EQ(vg_policy_excluded(p, rule_by_id(rs, "10000000-0000-0000-0000-000000000001"), ev, NULL, why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "rule 10000000-0000-0000-0000-000000000001");
	ASSERT_EQ(vg_policy_excluded(p, rule_by_id(rs, "10000000-0000-0000-0000-000000000004"), ev, NULL, why, sizeof(why)), 1);
	ASSERT_STR_EQ(why, "path /srv/*.bin");
	ev->file.path = "/srv/a.txt";
	ASSERT_EQ(vg_policy_excluded(p, rule_by_id(rs, "10000000-0000-0000-0000-000000000004"), ev, NULL, why, sizeof(why)), 0);
	ASSERT_EQ(vg_policy_excluded(p, rule_by_id(rs, "10000000-0000-0000-0000-000000000004"), ev,
				     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", why, sizeof(why)), 1);
	vg_event_free(ev);
	vg_ruleset_free(rs);
	vg_policy_free(p);
}

TEST(response_pid_reuse_never_hit)
{
	if (!need_root(vg_test_failed))
		return;
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	ASSERT_TRUE(c > 0);
	uint64_t st = vg_proc_start_ticks((uint32_t)c);
	ASSERT_TRUE(st != 0);
	/* a key whose start differs names another process that once had this pid */
	int rc = vg_kill_checked((uint32_t)c, st + 1, SIGKILL);
	int alive = kill(c, 0) == 0;
	reap(c);
	ASSERT_EQ(rc, VG_ENOTFOUND);
	ASSERT_TRUE(alive);
	/* after the process is gone and reaped, its key is not acted on either */
	ASSERT_EQ(vg_kill_checked((uint32_t)c, st, SIGKILL), VG_ENOTFOUND);
	/* and the right key kills */
	c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	ASSERT_EQ(vg_kill_checked((uint32_t)c, vg_proc_start_ticks((uint32_t)c), SIGKILL), 0);
	ASSERT_TRUE(killed_by_sigkill(c));
}

/* ---- quarantine ---- */

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	chmod(path, mode);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static char *read_text(const char *path)
{
	char *out = NULL;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	vg_test_run(cmd, &out);
	return out;
}

struct count_ctx {
	int n, runner;
	char id[64];
	char orig[300];
	int ns_note;
};

static void count_item(const struct vg_quarantine_meta *m, void *ctx)
{
	struct count_ctx *c = ctx;
	char self[4096];
	c->n++;
	/* the test runner itself, quarantined when it lives in a user-writable place, is not the item looked at */
	if (runner_user_writable(self, sizeof(self)) && m->original_path && strcmp(m->original_path, self) == 0) {
		c->runner++;
		return;
	}
	snprintf(c->id, sizeof(c->id), "%s", m->id);
	snprintf(c->orig, sizeof(c->orig), "%s", m->original_path);
	c->ns_note = m->mount_ns_note != NULL;
}

TEST(response_quarantine_restore_purge)
{
	char dir[300], q[320], f[320], err[512], id[64], id2[64];
	struct stat st;
	if (!need_root(vg_test_failed))
		return;
	snprintf(dir, sizeof(dir), "/tmp/vg-quar-XXXXXX");
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(q, sizeof(q), "%s/store", dir);
	snprintf(f, sizeof(f), "%s/dropped.sh", dir);
	ASSERT_EQ(write_text(f, "#!/bin/sh\necho pwned\n", 0751), 0);
	ASSERT_EQ(chown(f, 1234, 2345), 0);
	struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000, .tv_nsec = 5 } };
	utimensat(AT_FDCWD, f, old, 0);
	ASSERT_EQ(vg_quarantine_add(q, f, f, NULL, "rule-1", "incident-1", id, err, sizeof(err)), 0);
	ASSERT_TRUE(stat(f, &st) != 0);          /* moved away */
	ASSERT_EQ(stat(q, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0700);     /* root-only store */
	char item[400];
	snprintf(item, sizeof(item), "%s/%s", q, id);
	ASSERT_EQ(stat(item, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0400);
	char sha[65];
	ASSERT_EQ(vg_sha256_file(item, sha), 0);
	snprintf(item, sizeof(item), "%s/%s.json", q, id);
	char *meta = read_text(item);
	ASSERT_TRUE(meta && strstr(meta, sha) && strstr(meta, "\"mode\":\"0751\"") && strstr(meta, "\"uid\":1234") &&
		    strstr(meta, "\"rule_id\":\"rule-1\"") && strstr(meta, "\"incident\":\"incident-1\""));
	free(meta);

	struct count_ctx cc = { 0 };
	ASSERT_EQ(vg_quarantine_list(q, count_item, &cc, err, sizeof(err)), 1);
	ASSERT_STR_EQ(cc.orig, f);

	/* restore refuses to overwrite */
	ASSERT_EQ(write_text(f, "someone else's\n", 0644), 0);
	ASSERT_TRUE(vg_quarantine_restore(q, id, err, sizeof(err)) != 0);
	ASSERT_TRUE(strstr(err, "exists: not overwritten") != NULL);
	unlink(f);
	ASSERT_EQ(vg_quarantine_restore(q, id, err, sizeof(err)), 0);
	ASSERT_EQ(stat(f, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0751);
	ASSERT_EQ(st.st_uid, 1234);
	ASSERT_EQ(st.st_gid, 2345);
	ASSERT_EQ(st.st_mtim.tv_sec, 1000000000);
	char *back = read_text(f);
	ASSERT_STR_EQ(back, "#!/bin/sh\necho pwned\n");
	free(back);
	cc.n = 0;
	ASSERT_EQ(vg_quarantine_list(q, count_item, &cc, err, sizeof(err)), 0);

	/* purge by id and by age; bad ids are refused by name */
	ASSERT_EQ(vg_quarantine_add(q, f, f, NULL, NULL, NULL, id, err, sizeof(err)), 0);
	ASSERT_EQ(write_text(f, "second\n", 0600), 0);
	ASSERT_EQ(vg_quarantine_add(q, f, f, NULL, NULL, NULL, id2, err, sizeof(err)), 0);
	ASSERT_EQ(vg_quarantine_purge(q, "../../etc", 0, err, sizeof(err)), VG_EINVAL);
	ASSERT_TRUE(strstr(err, "'../../etc' is not a quarantine id") != NULL);
	ASSERT_EQ(vg_quarantine_purge(q, id, 0, err, sizeof(err)), 1);
	ASSERT_EQ(vg_quarantine_purge(q, NULL, 1, err, sizeof(err)), 0); /* nothing older than 1970 */
	ASSERT_EQ(vg_quarantine_purge(q, NULL, INT64_MAX, err, sizeof(err)), 1);
	cc.n = 0;
	ASSERT_EQ(vg_quarantine_list(q, count_item, &cc, err, sizeof(err)), 0);

	/* the CLI on the same store */
	char cmd[800], *out = NULL;
	ASSERT_EQ(write_text(f, "third\n", 0600), 0);
	ASSERT_EQ(vg_quarantine_add(q, f, f, NULL, NULL, NULL, id, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "%s/vigil quarantine --dir %s list 2>&1", vg_test_build_dir(), q);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	ASSERT_TRUE(strstr(out, id) != NULL && strstr(out, f) != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s/vigil quarantine --dir %s purge --older-than lots 2>&1", vg_test_build_dir(), q);
	ASSERT_EQ(vg_test_run(cmd, &out), 2);
	ASSERT_TRUE(strstr(out, "--older-than 'lots': not a duration") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "%s/vigil quarantine --dir %s restore %s 2>&1", vg_test_build_dir(), q, id);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	free(out);
	back = read_text(f);
	ASSERT_STR_EQ(back, "third\n");
	free(back);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0);
}

/* A dropped executable is quarantined from inside a private mount namespace (tmpfs only the child sees). */
TEST(response_quarantine_through_mount_namespace)
{
	struct harness h;
	int fds[2];
	char nsdir[300], payload[340], via[400];
	struct stat st;
	if (!need_root(vg_test_failed))
		return;
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	snprintf(nsdir, sizeof(nsdir), "%s/ns", tmpdir);
	ASSERT_EQ(mkdir(nsdir, 0755), 0);
	snprintf(payload, sizeof(payload), "%s/payload", nsdir);
	ASSERT_EQ(pipe(fds), 0);
	pid_t c = fork();
	if (c == 0) {
		char ok = 0;
		close(fds[0]);
		if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("tmpfs", nsdir, "tmpfs", 0, "size=1m") == 0 && write_text(payload, "#!/bin/sh\nexit 0\n", 0755) == 0)
			ok = 1;
		else if (errno == EPERM)
			ok = 2; /* root without CAP_SYS_ADMIN (a restricted container) */
		if (write(fds[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	char ok = 0;
	ASSERT_EQ(read(fds[0], &ok, 1), 1);
	close(fds[0]);
	if (ok != 1) {
		const char *ci = getenv("CI");
		reap(c);
		harness_close(&h);
		if (ok == 2 && !(ci && strcmp(ci, "true") == 0)) {
			fprintf(stderr, "    SKIPPED: no CAP_SYS_ADMIN for unshare(CLONE_NEWNS)/mount\n");
			return;
		}
		VG_FAIL_("could not make a private mount namespace with a tmpfs (unshare/mount)");
	}
	int hidden = stat(payload, &st) != 0; /* not visible from our namespace */
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/usr/bin/sim"));
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)c, "/usr/bin/sim", payload));
	const char *o = out_str(&h);
	snprintf(via, sizeof(via), "/proc/%d/root%s", (int)c, payload);
	int gone = stat(via, &st) != 0;
	struct count_ctx cc = { 0 };
	char q[400], err[256];
	snprintf(q, sizeof(q), "%s/state/quarantine", tmpdir);
	int n = vg_quarantine_list(q, count_item, &cc, err, sizeof(err));
	int done = strstr(o, "\"action\":\"quarantine\"") && strstr(o, "\"result\":\"done: ");
	reap(c);
	if (!done)
		fprintf(stderr, "    responses: %s\n", o);
	harness_close(&h);
	ASSERT_TRUE(hidden);
	ASSERT_TRUE(done);
	ASSERT_TRUE(gone);
	ASSERT_EQ(n - cc.runner, 1);
	ASSERT_STR_EQ(cc.orig, payload);
	ASSERT_TRUE(cc.ns_note);
}

/* ---- persistence undo ---- */

static int mkdirs(const char *root, const char *rel)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	return system(cmd);
}

TEST(response_persistence_undo_with_snapshot)
{
	struct harness h;
	char root[300], rc[400], payload[400], line[900], unit[400];
	if (!need_root(vg_test_failed))
		return;
	snprintf(root, sizeof(root), "/tmp/vg-root-XXXXXX");
	ASSERT_TRUE(mkdtemp(root) != NULL);
	ASSERT_EQ(mkdirs(root, "home/u"), 0);
	ASSERT_EQ(mkdirs(root, "etc/systemd/system"), 0);
	ASSERT_EQ(mkdirs(root, "drop"), 0);
	snprintf(rc, sizeof(rc), "%s/home/u/.bashrc", root);
	snprintf(unit, sizeof(unit), "%s/etc/systemd/system/ok.service", root);
	snprintf(payload, sizeof(payload), "%s/drop/miner", root);
	static const char orig[] = "# user's rc\nexport PATH=$HOME/bin:$PATH\n";
	static const char unit_orig[] = "[Service]\nExecStart=/usr/bin/true\n";
	ASSERT_EQ(write_text(rc, orig, 0644), 0);
	ASSERT_EQ(write_text(unit, unit_orig, 0644), 0);
	ASSERT_EQ(chown(rc, 1000, 1000), 0);
	ASSERT_EQ(harness_open(&h, root, 1), 0); /* baseline snapshots of root's persistence files */
	ASSERT_EQ(vg_response_stats(h.resp)->snapshots, 2);

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t gc, c = spawn_pair(&gc, NULL);
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/dropper"));
	/* the threat drops a payload and changes the rc file and a unit */
	ASSERT_EQ(write_text(payload, "\177ELF fake", 0755), 0);
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)c, "/tmp/x/dropper", payload));
	snprintf(line, sizeof(line), "%salias sudo='%s'\n(%s &)\n", orig, payload, payload);
	ASSERT_EQ(write_text(rc, line, 0644), 0);
	snprintf(line, sizeof(line), "[Service]\nExecStart=%s\n", payload);
	ASSERT_EQ(write_text(unit, line, 0644), 0);
	feed(&h, ev_file(VG_EV_FILE_WRITE, (uint32_t)c, "/tmp/x/dropper", unit));
	feed(&h, ev_file(VG_EV_FILE_WRITE, (uint32_t)c, "/tmp/x/dropper", rc)); /* matches: remediate */
	const char *o = out_str(&h);
	char *now_rc = read_text(rc), *now_unit = read_text(unit);
	struct stat st;
	int payload_gone = stat(payload, &st) != 0;
	int owner_kept = stat(rc, &st) == 0 && st.st_uid == 1000 && (st.st_mode & 0777) == 0644;
	int killed = killed_by_sigkill(c) && killed_by_sigkill(gc);
	char rec[400];
	snprintf(rec, sizeof(rec), "%s/state/remediation.jsonl", tmpdir);
	char *record = read_text(rec);
	int ok = now_rc && strcmp(now_rc, orig) == 0 && now_unit && strcmp(now_unit, unit_orig) == 0;
	if (!ok || !killed)
		fprintf(stderr, "    responses: %s\n    rc now: %s\n    unit now: %s\n", o, now_rc, now_unit);
	ASSERT_TRUE(strstr(o, "restored snapshot") != NULL);
	ASSERT_TRUE(strstr(o, "taken at agent start") != NULL);
	free(now_rc);
	free(now_unit);
	harness_close(&h);
	snprintf(line, sizeof(line), "rm -rf %s", root);
	ASSERT_EQ(system(line), 0);
	ASSERT_TRUE(ok);
	ASSERT_TRUE(owner_kept);
	ASSERT_TRUE(payload_gone);
	ASSERT_TRUE(killed);
	ASSERT_TRUE(record && strstr(record, "\"how\":\"restored snapshot") != NULL);
	free(record);
}

TEST(response_persistence_undo_without_snapshot)
{
	struct harness h;
	char root[300], rc[400], cron[400], payload[400], text[1200], unit[400];
	struct stat st;
	if (!need_root(vg_test_failed))
		return;
	snprintf(root, sizeof(root), "/tmp/vg-root-XXXXXX");
	ASSERT_TRUE(mkdtemp(root) != NULL);
	ASSERT_EQ(mkdirs(root, "home/u"), 0);
	ASSERT_EQ(mkdirs(root, "var/spool/cron/crontabs"), 0);
	ASSERT_EQ(mkdirs(root, "etc/systemd/system"), 0);
	ASSERT_EQ(mkdirs(root, "drop"), 0);
	snprintf(rc, sizeof(rc), "%s/home/u/.bashrc", root);
	snprintf(cron, sizeof(cron), "%s/var/spool/cron/crontabs/u", root);
	snprintf(unit, sizeof(unit), "%s/etc/systemd/system/evil.service", root);
	snprintf(payload, sizeof(payload), "%s/drop/payload", root);
	ASSERT_EQ(write_text(rc, "# rc\n", 0644), 0);
	ASSERT_EQ(write_text(cron, "0 1 * * * /usr/bin/backup\n", 0600), 0);
	ASSERT_EQ(harness_open(&h, root, 0), 0); /* no baseline */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t gc, c = spawn_pair(&gc, NULL);
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/dropper"));
	ASSERT_EQ(write_text(payload, "#!/bin/sh\n", 0755), 0);
	/* the threat's lines, plus one of the user's own written meanwhile by the same process tree */
	snprintf(text, sizeof(text), "# rc\necho hello\n%s --daemon\n", payload);
	ASSERT_EQ(write_text(rc, text, 0644), 0);
	snprintf(text, sizeof(text), "0 1 * * * /usr/bin/backup\n*/5 * * * * %s\n", payload);
	ASSERT_EQ(write_text(cron, text, 0600), 0);
	snprintf(text, sizeof(text), "[Service]\nExecStart=%s\n", payload);
	ASSERT_EQ(write_text(unit, text, 0644), 0);
	feed(&h, ev_file(VG_EV_FILE_WRITE, (uint32_t)c, "/tmp/x/dropper", cron));
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)c, "/tmp/x/dropper", unit));
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)c, "/tmp/x/dropper", payload)); /* quarantine rule */
	feed(&h, ev_file(VG_EV_FILE_WRITE, (uint32_t)c, "/tmp/x/dropper", rc));       /* remediate rule */
	const char *o = out_str(&h);
	char *now_rc = read_text(rc), *now_cron = read_text(cron);
	int unit_gone = stat(unit, &st) != 0, payload_gone = stat(payload, &st) != 0;
	int killed = killed_by_sigkill(c) && killed_by_sigkill(gc);
	int ok = now_rc && strcmp(now_rc, "# rc\necho hello\n") == 0 && now_cron &&
		 strcmp(now_cron, "0 1 * * * /usr/bin/backup\n") == 0;
	if (!ok || !unit_gone)
		fprintf(stderr, "    responses: %s\n    rc now: %s\n    cron now: %s\n", o, now_rc, now_cron);
	ASSERT_TRUE(strstr(o, "removed 1 line(s) naming the dropped files (no snapshot)") != NULL);
	ASSERT_TRUE(strstr(o, "quarantined: created by the threat, no earlier snapshot") != NULL);
	free(now_rc);
	free(now_cron);
	harness_close(&h);
	snprintf(text, sizeof(text), "rm -rf %s", root);
	ASSERT_EQ(system(text), 0);
	ASSERT_TRUE(ok);
	ASSERT_TRUE(unit_gone);
	ASSERT_TRUE(payload_gone);
	ASSERT_TRUE(killed);
}

TEST(response_persist_kinds)
{
	ASSERT_EQ(vg_response_persist_kind("/etc/cron.d/x"), VG_PERSIST_CRON);
	ASSERT_EQ(vg_response_persist_kind("/var/spool/cron/crontabs/root"), VG_PERSIST_CRON);
	ASSERT_EQ(vg_response_persist_kind("/etc/systemd/system/a.service"), VG_PERSIST_SYSTEMD);
	ASSERT_EQ(vg_response_persist_kind("/home/u/.bashrc"), VG_PERSIST_SHELL_RC);
	ASSERT_EQ(vg_response_persist_kind("/etc/ld.so.preload"), VG_PERSIST_LD_PRELOAD);
	ASSERT_EQ(vg_response_persist_kind("/home/u/.config/autostart/x.desktop"), VG_PERSIST_XDG_AUTOSTART);
	ASSERT_EQ(vg_response_persist_kind("/root/.ssh/authorized_keys"), VG_PERSIST_SSH_KEYS);
	ASSERT_EQ(vg_response_persist_kind("/tmp/payload"), VG_PERSIST_NONE);
	ASSERT_EQ(vg_response_persist_kind("relative/.bashrc"), VG_PERSIST_NONE);
}

static void on_rule_err(const char *file, unsigned line, const char *reason, void *ctx)
{
	snprintf(ctx, 256, "%s:%u: %s", file, line, reason);
}

TEST(response_rule_vigil_section)
{
	struct vg_ruleset *rs;
	char where[256] = "";
	static const char good[] = "title: a\nid: 50000000-0000-0000-0000-000000000001\n"
				   "logsource: {product: linux, category: process_creation}\n"
				   "detection: {sel: {Image: x}, condition: sel}\nlevel: high\n"
				   "vigil:\n    action: remediate\n    cloud: true\n";
	static const char bad[] = "title: b\nid: 50000000-0000-0000-0000-000000000002\n"
				  "logsource: {product: linux, category: process_creation}\n"
				  "detection: {sel: {Image: x}, condition: sel}\nlevel: high\n"
				  "vigil:\n    action: nuke\n";
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "good.yml", good, sizeof(good) - 1, NULL, NULL), 1);
	const struct vg_rule *r = vg_ruleset_rule(rs, 0);
	ASSERT_STR_EQ(vg_rule_vigil_action(r), "remediate");
	ASSERT_EQ(vg_rule_vigil_cloud(r), 1);
	vg_ruleset_free(rs);
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "bad.yml", bad, sizeof(bad) - 1, on_rule_err, where), 0);
	ASSERT_STR_EQ(where, "bad.yml:7: vigil: unknown action 'nuke' (alert, kill, quarantine, remediate)");
	vg_ruleset_free(rs);
	/* a rule without the section: SigmaHQ rules */
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "t", rules_yaml, sizeof(rules_yaml) - 1, NULL, NULL), 4);
	r = rule_by_id(rs, "10000000-0000-0000-0000-000000000002");
	ASSERT_NULL(vg_rule_vigil_action(r));
	ASSERT_EQ(vg_rule_vigil_cloud(r), -1);
	vg_ruleset_free(rs);
}

TEST(response_reload_keeps_policy_on_error)
{
	struct harness h;
	struct vg_agent_config cfg;
	char pol[400], err[512];
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	snprintf(pol, sizeof(pol), "%s/policy.yml", tmpdir);
	ASSERT_EQ(write_text(pol, "default: kill\n", 0600), 0);
	ASSERT_EQ(vg_agent_config_defaults(&cfg), 0);
	free(cfg.policy);
	cfg.policy = vg_strdup(pol);
	ASSERT_EQ(vg_response_reload(h.resp, &cfg, err, sizeof(err)), 0);
	const struct vg_rule *plain = rule_by_id(h.rs, "10000000-0000-0000-0000-000000000002");
	ASSERT_EQ(write_text(pol, "default: kill\nlevels:\n  medium: [oops\n", 0600), 0);
	int rc = vg_response_reload(h.resp, &cfg, err, sizeof(err));
	vg_agent_config_free(&cfg);
	/* the previous policy still decides */
	struct vg_buf extra = { 0 };
	struct vg_event *ev = ev_file(VG_EV_FILE_CREATE, 1, "/x", "/nonexistent/vg");
	ev->platform = VG_PLATFORM_WINDOWS; /* and a Windows event is never acted on here */
	vg_response_respond(h.resp, plain, ev, &extra);
	vg_buf_put(&extra, "", 1);
	int kept = strstr(extra.p, "\"decision\":\"kill\",\"why\":\"default\"") != NULL;
	int refused = strstr(extra.p, "failed: not a Linux event") != NULL;
	vg_buf_free(&extra);
	vg_event_free(ev);
	harness_close(&h);
	ASSERT_EQ(rc, VG_EINVAL);
	ASSERT_TRUE(strstr(err, "policy.yml:4:") != NULL);
	ASSERT_TRUE(kept);
	ASSERT_TRUE(refused);
}

struct hooks {
	int exe, pid;
	uint32_t last_pid;
};

static int hook_exe(void *ctx, uint64_t dev, uint64_t ino)
{
	struct hooks *k = ctx;
	(void)dev;
	k->exe += ino != 0;
	return 0;
}

static int hook_pid(void *ctx, uint32_t pid)
{
	struct hooks *k = ctx;
	k->pid++;
	k->last_pid = pid;
	return 0;
}

/* remediate with kernel hooks: each victim pid and each quarantined executable is marked */
TEST(response_kernel_hooks_called)
{
	struct harness h;
	struct hooks k = { 0 };
	char payload[400];
	if (!need_root(vg_test_failed))
		return;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	vg_response_set_kernel_hooks(h.resp, hook_exe, hook_pid, &k);
	snprintf(payload, sizeof(payload), "%s/payload", tmpdir);
	pid_t gc, c = spawn_pair(&gc, NULL);
	feed(&h, ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/dropper"));
	ASSERT_EQ(write_text(payload, "\177ELF", 0755), 0);
	/* the dropper rule says quarantine; make it remediate through the policy's rule id */
	struct vg_policy *p;
	char err[256];
	static const char pol[] = "rules: {10000000-0000-0000-0000-000000000004: remediate}\n";
	ASSERT_EQ(vg_policy_parse("pol", pol, sizeof(pol) - 1, &p, err, sizeof(err)), 0);
	vg_response_set_policy(h.resp, p);
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)c, "/tmp/x/dropper", payload));
	int killed = killed_by_sigkill(c) && killed_by_sigkill(gc);
	const char *o = out_str(&h);
	if (!killed)
		fprintf(stderr, "    responses: %s\n", o);
	harness_close(&h);
	char self[4096];
	ASSERT_TRUE(killed);
	/* the payload, and the victims' own executable (this runner) when it is in a user-writable place */
	ASSERT_EQ(k.exe, 1 + runner_user_writable(self, sizeof(self)));
	ASSERT_EQ(k.pid, 2);
}

/* sha256 exclusions are checked against the running executable and the matched file, hashed here */
TEST(response_sha256_exclusion)
{
	struct harness h;
	struct vg_policy *p;
	char f[400], sha[65], pol[200], err[256];
	if (!need_root(vg_test_failed))
		return;
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	snprintf(f, sizeof(f), "%s/payload", tmpdir);
	ASSERT_EQ(write_text(f, "#!/bin/sh\n# known good\n", 0755), 0);
	ASSERT_EQ(vg_sha256_file(f, sha), 0);
	snprintf(pol, sizeof(pol), "exclusions:\n  sha256: [%s]\n", sha);
	ASSERT_EQ(vg_policy_parse("pol", pol, strlen(pol), &p, err, sizeof(err)), 0);
	vg_response_set_policy(h.resp, p);
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)getpid(), "/x", f));
	struct stat st;
	int kept = stat(f, &st) == 0;
	char want[120];
	snprintf(want, sizeof(want), "\"result\":\"excluded: sha256 %s\"", sha);
	int said = strstr(out_str(&h), want) != NULL;
	if (!said)
		fprintf(stderr, "    responses: %s\n", out_str(&h));
	/* a FIFO is not hashed (and does not block) */
	ASSERT_EQ(mkfifo("/tmp/vg-resp-fifo-test", 0600) == 0 || errno == EEXIST, 1);
	ASSERT_EQ(vg_sha256_file("/tmp/vg-resp-fifo-test", sha), VG_EINVAL);
	unlink("/tmp/vg-resp-fifo-test");
	harness_close(&h);
	ASSERT_TRUE(kept);
	ASSERT_TRUE(said);
}

/* A descendant running a package binary that started before the flagged point is left alone; the flagged process dies. */
TEST(response_descendant_rule_spares_older_package_children)
{
	struct harness h;
	int p1[2], p2[2];
	if (!need_root(vg_test_failed))
		return;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	ASSERT_EQ(pipe(p1), 0);
	ASSERT_EQ(pipe2(p2, O_CLOEXEC), 0);
	pid_t c = fork();
	if (c == 0) {
		pid_t g = fork();
		if (g == 0) {
			execl("/bin/sleep", "sleep", "100000", (char *)NULL);
			_exit(127);
		}
		close(p2[1]); /* only the grandchild holds it now; its exec closes it */
		if (write(p1[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		for (;;)
			pause();
	}
	close(p1[1]);
	close(p2[1]);
	pid_t g = -1;
	char b;
	ASSERT_EQ(read(p1[0], &g, sizeof(g)), (ssize_t)sizeof(g));
	ASSERT_EQ(read(p2[0], &b, 1), 0); /* EOF: the grandchild has exec'd /bin/sleep */
	close(p1[0]);
	close(p2[0]);
	struct vg_event *ev = ev_start((uint32_t)c, (uint32_t)getpid(), "/tmp/x/vg-evil");
	ev->time_ns += 1000000000LL; /* the flagged point comes a second after the sleep started */
	feed(&h, ev);
	const char *o = out_str(&h);
	char gpid[64];
	snprintf(gpid, sizeof(gpid), "\"pid\":%d,", (int)g);
	int spared = strstr(o, gpid) == NULL && kill(g, 0) == 0;
	int killed = strstr(o, "\"result\":\"done\"") != NULL && killed_by_sigkill(c);
	if (!spared || !killed)
		fprintf(stderr, "    responses: %s\n", o);
	reap(g);
	if (!killed)
		reap(c);
	harness_close(&h);
	ASSERT_TRUE(spared);
	ASSERT_TRUE(killed);
}

/* A dropped-file path through a symlinked folder into a system location is refused, not quarantined. */
TEST(response_quarantine_refuses_system_locations)
{
	struct harness h;
	char sentinel[] = "/etc/vg-test-sentinel-XXXXXX", link[400], path[500];
	struct stat st;
	if (!need_root(vg_test_failed))
		return;
	ASSERT_EQ(harness_open(&h, "", 0), 0);
	int fd = mkstemp(sentinel);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	chmod(sentinel, 0755);
	snprintf(link, sizeof(link), "%s/etc-link", tmpdir);
	ASSERT_EQ(symlink("/etc", link), 0);
	snprintf(path, sizeof(path), "%s/%s", link, strrchr(sentinel, '/') + 1);
	/* named as /tmp/.../etc-link/vg-test-sentinel-... (the dropper rule needs "/payload": use the policy) */
	struct vg_policy *p;
	char err[256];
	static const char pol[] = "default: quarantine\n";
	ASSERT_EQ(vg_policy_parse("pol", pol, sizeof(pol) - 1, &p, err, sizeof(err)), 0);
	vg_response_set_policy(h.resp, p);
	struct vg_ruleset *rs;
	static const char rule[] = "title: any file\nid: 60000000-0000-0000-0000-000000000001\n"
				   "logsource: {product: linux, category: file_event}\n"
				   "detection: {sel: {TargetFilename|contains: 'vg-test-sentinel'}, condition: sel}\nlevel: low\n";
	ASSERT_EQ(vg_ruleset_new(&rs), 0);
	ASSERT_EQ(vg_ruleset_load_text(rs, "r", rule, sizeof(rule) - 1, NULL, NULL), 1);
	vg_ruleset_free(h.rs);
	h.rs = rs;
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)getpid(), "/x", path));
	feed(&h, ev_file(VG_EV_FILE_CREATE, (uint32_t)getpid(), "/x", sentinel));
	const char *o = out_str(&h);
	int still = stat(sentinel, &st) == 0;
	size_t refused = 0;
	for (const char *s = o; (s = strstr(s, "\"result\":\"refused: ")); s++)
		refused++;
	if (refused < 2)
		fprintf(stderr, "    responses: %s\n", o);
	unlink(sentinel);
	harness_close(&h);
	ASSERT_TRUE(still);
	ASSERT_GE(refused, 2); /* the second match also lists the first path (the same process wrote it) */
}
