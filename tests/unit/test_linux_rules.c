/* test_linux_rules.c - every rule in rules/linux fires on raw events shaped as the eBPF sensor emits them (docs/linux-events.md), after vg_linux_enrich and the process tree, and a packaged program fires none. */
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/sigma_ext.h"
#include "test.h"
#include "vigil/linux.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"

struct ctx {
	struct vg_linux_facts *facts;
	struct vg_tree *tree;
	struct vg_ruleset *rs;
	char fired[64][96];  /* every rule that fired in the test, once */
	int nfired;
	char hit[16][96];    /* rules of the current event */
	int nhit;
	int64_t t_ms;
};

static void on_match(const struct vg_rule *r, const struct vg_event *ev, void *p)
{
	struct ctx *c = p;
	const char *b = strrchr(r->file, '/');
	char name[96];
	(void)ev;
	if (!vg_rule_generates(r))
		return; /* a correlation-only step: it never alerts on its own */
	snprintf(name, sizeof(name), "%s", b ? b + 1 : r->file);
	char *dot = strstr(name, ".yml");
	if (dot)
		*dot = '\0';
	if (c->nhit < 16)
		snprintf(c->hit[c->nhit++], 96, "%s", name);
	for (int i = 0; i < c->nfired; i++)
		if (strcmp(c->fired[i], name) == 0)
			return;
	if (c->nfired < 64)
		snprintf(c->fired[c->nfired++], 96, "%s", name);
}

static const char *edup(struct vg_event *ev, const char *s)
{
	return s ? vg_event_strdup(ev, s, strlen(s)) : NULL;
}

/* A raw Linux event as the sensor emits it: common fields, then name/value pairs (NULL-terminated). */
static struct vg_event *lnx(struct ctx *c, enum vg_event_type type, const char *key, uint32_t pid,
			    const char *image, ...)
{
	struct vg_event *ev = vg_event_new();
	char num[32], when[40];
	va_list ap;
	const char *n;

	ev->type = type;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->host = edup(ev, "lab");
	c->t_ms += 1000;
	ev->time_ns = (1800000000000LL + c->t_ms) * 1000000LL;
	ev->proc.key = edup(ev, key);
	ev->proc.pid = pid;
	ev->proc.image = edup(ev, image);
	ev->proc.user = edup(ev, "root");
	snprintf(num, sizeof(num), "%u", pid);
	vg_time_format(ev->time_ns, when, sizeof(when));
	vg_event_add_field(ev, "ProcessId", 9, num, strlen(num));
	vg_event_add_field(ev, "Image", 5, image, strlen(image));
	vg_event_add_field(ev, "User", 4, "root", 4);
	vg_event_add_field(ev, "UtcTime", 7, when, strlen(when));
	va_start(ap, image);
	while ((n = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		vg_event_add_field(ev, n, strlen(n), v, strlen(v));
		if (strcmp(n, "TargetFilename") == 0)
			ev->file.path = edup(ev, v);
		else if (strcmp(n, "CommandLine") == 0)
			ev->proc.command_line = edup(ev, v);
		else if (strcmp(n, "DestinationIp") == 0)
			ev->net.dst_ip = edup(ev, v);
		else if (strcmp(n, "DestinationPort") == 0)
			ev->net.dst_port = (uint16_t)atoi(v);
		else if (strcmp(n, "Protocol") == 0)
			ev->net.protocol = edup(ev, v);
		else if (strcmp(n, "QueryName") == 0)
			ev->dns.query = edup(ev, v);
		else if (strcmp(n, "ParentImage") == 0)
			ev->parent.image = edup(ev, v);
		else if (strcmp(n, "Initiated") == 0)
			ev->net.initiated = 1;
	}
	va_end(ap);
	ev->nraw = ev->nfields;
	return ev;
}

static void set_parent(struct vg_event *ev, const char *key, uint32_t pid)
{
	ev->parent.key = edup(ev, key);
	ev->parent.pid = pid;
}

/* The agent's order: host facts, tree, tree enrichment, rules. Returns the rules hit, joined by ','. */
static const char *run(struct ctx *c, struct vg_event *ev, char *buf, size_t len)
{
	c->nhit = 0;
	vg_linux_enrich(c->facts, ev);
	vg_tree_update(c->tree, ev);
	vg_tree_enrich(c->tree, ev);
	vg_ruleset_match(c->rs, ev, on_match, c);
	/* sorted, so expectations do not depend on load order */
	for (int i = 1; i < c->nhit; i++)
		for (int j = i; j > 0 && strcmp(c->hit[j - 1], c->hit[j]) > 0; j--) {
			char tmp[96];
			memcpy(tmp, c->hit[j], 96);
			memcpy(c->hit[j], c->hit[j - 1], 96);
			memcpy(c->hit[j - 1], tmp, 96);
		}
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->nhit && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", c->hit[i]);
	return buf;
}

#define EXPECT_RULES(ev, want)                                                          \
	do {                                                                            \
		char got_[1024];                                                        \
		run(&c, (ev), got_, sizeof(got_));                                      \
		if (strcmp(got_, (want)) != 0)                                          \
			VG_FAIL_("%s: rules \"%s\", expected \"%s\"", #ev, got_, (want)); \
	} while (0)

/* A process chrooted into root: /proc/<pid>/root shows files as it sees them. Returns its pid or -1. */
static pid_t chrooted(const char *root)
{
	int fds[2];
	char b;
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (chroot(root) != 0 || chdir("/") != 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &b, 1) != 1) {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	return pid;
}

static int put(const char *root, const char *rel, const char *text)
{
	char p[512], cmd[700];
	snprintf(p, sizeof(p), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	if (system(cmd) != 0)
		return -1;
	FILE *f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(linux_rules_all_fire_after_enrichment)
{
	struct ctx c = { 0 };
	struct vg_tree_config cfg = { .resolvers = "10.0.0.53" };
	char dir[] = "/tmp/vgtest-rules-XXXXXX", root[] = "/tmp/vgtest-root-XXXXXX", p[256], p2[256], cmd[600];
	int is_root = geteuid() == 0;
	int ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;

	struct vg_linux_facts_config lcfg = { .hostname = "lab" };
	ASSERT_EQ(vg_linux_facts_new(&lcfg, &c.facts), 0);
	ASSERT_EQ(vg_tree_new(&cfg, &c.tree), 0);
	ASSERT_EQ(vg_ruleset_new(&c.rs), 0);
	int nrules = vg_ruleset_load_path(c.rs, VIGIL_SOURCE_DIR "/rules/linux", NULL, NULL);
	ASSERT_GE(nrules, 20);
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_TRUE(mkdtemp(root) != NULL);

	/* a packaged shell: verified, owned, in its folder, no rule */
	struct vg_event *sh = lnx(&c, VG_EV_PROCESS_START, "lab:100:1", 0, "/usr/bin/bash", "CommandLine", "bash",
				  "Comm", "bash", "Argv0", "-bash", "ExeDeleted", "false", "ExeMemfd", "false",
				  "Hashes", "", "Package", "", "PackageVerified", "", NULL);
	EXPECT_RULES(sh, "");
	ASSERT_STR_EQ(vg_event_get(sh, "Package"), "bash");
	ASSERT_STR_EQ(vg_event_get(sh, "PackageVerified"), "true");
	ASSERT_TRUE(strncmp(vg_event_get(sh, "Hashes"), "SHA256=", 7) == 0);
	ASSERT_TRUE(sh->proc.hashes && strstr(sh->proc.hashes, ",MD5="));
	ASSERT_STR_EQ(vg_event_get(sh, "VigilSysBinWrongPath"), "false");
	ASSERT_STR_EQ(vg_event_get(sh, "VigilImagePathClass"), "system");
	ASSERT_STR_EQ(vg_event_get(sh, "VigilArgv0UnlikeImage"), "false");
	ASSERT_STR_EQ(vg_event_get(sh, "VigilElfLinkage"), "pie");
	ASSERT_NULL(vg_event_get(sh, "VigilSysBinUnusualParent")); /* no Windows table on Linux */

	/* a copy of bash in /tmp: not packaged, a system binary name in the wrong folder */
	snprintf(p, sizeof(p), "%s/bash", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/bash '%s'", p);
	ASSERT_EQ(system(cmd), 0);
	struct vg_event *tb = lnx(&c, VG_EV_PROCESS_START, "lab:101:2", 0, p, "Comm", "bash", "Argv0", p,
				  "Package", "", NULL);
	set_parent(tb, "lab:100:1", 100);
	EXPECT_RULES(tb, "proc_creation_lnx_vigil_exec_from_tmp,proc_creation_lnx_vigil_sysbin_wrong_path");
	ASSERT_STR_EQ(vg_event_get(tb, "Package"), "");
	ASSERT_NULL(vg_event_get(tb, "PackageVerified"));
	ASSERT_STR_EQ(vg_event_get(tb, "VigilSysBinDirs"), "/usr/bin");
	ASSERT_STR_EQ(vg_event_get(tb, "VigilImageUserWritable"), "true");
	ASSERT_STR_EQ(vg_event_get(tb, "Hashes"), vg_event_get(sh, "Hashes")); /* same bytes */

	struct vg_event *shm = lnx(&c, VG_EV_PROCESS_START, "lab:102:3", 0, "/dev/shm/kw", "Comm", "kw", NULL);
	EXPECT_RULES(shm, "proc_creation_lnx_vigil_exec_from_dev_shm");
	struct vg_event *mfd = lnx(&c, VG_EV_PROCESS_START, "lab:103:4", 0, "/memfd:x (deleted)", "ExeMemfd", "true",
				   "ExeDeleted", "true", NULL);
	EXPECT_RULES(mfd, "proc_creation_lnx_vigil_exec_memfd_or_deleted");
	ASSERT_STR_EQ(vg_event_get(mfd, "VigilImagePathClass"), "memfd");
	struct vg_event *kt = lnx(&c, VG_EV_PROCESS_START, "lab:104:5", 0, "/usr/bin/sleep", "Comm", "sleep",
				  "Argv0", "[kworker/0:1]", NULL);
	EXPECT_RULES(kt, "proc_creation_lnx_vigil_kernel_thread_name");
	ASSERT_STR_EQ(vg_event_get(kt, "VigilKernelThreadName"), "true");
	ASSERT_STR_EQ(vg_event_get(kt, "VigilArgv0UnlikeImage"), "true");
	ASSERT_STR_EQ(vg_event_get(kt, "VigilCommUnlikeImage"), "false");
	struct vg_event *rn = lnx(&c, VG_EV_PROCESS_RENAME, "lab:104:5", 104, "/usr/bin/sleep", "NewName", "kworker/0:2",
				  "OldName", "sleep", NULL);
	EXPECT_RULES(rn, "process_rename_lnx_vigil_kernel_thread_name");

	struct vg_event *net = lnx(&c, VG_EV_NETWORK_CONNECT, "lab:102:3", 102, "/dev/shm/kw", "Protocol", "tcp",
				   "Initiated", "true", "SourceIp", "10.0.0.5", "SourcePort", "40000", "DestinationIp",
				   "203.0.113.9", "DestinationPort", "3333", NULL);
	EXPECT_RULES(net, "net_connection_lnx_vigil_mining_port");
	struct vg_event *pay = lnx(&c, VG_EV_NET_PAYLOAD, "lab:102:3", 102, "/dev/shm/kw", "DestinationIp", "203.0.113.9",
				   "DestinationPort", "3333", "Protocol", "tcp", "Syscall", "write", "Payload",
				   "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{}}", "PayloadLength", "48", NULL);
	EXPECT_RULES(pay, "network_payload_lnx_vigil_stratum_login");
	struct vg_event *dns = lnx(&c, VG_EV_DNS_QUERY, "lab:102:3", 102, "/dev/shm/kw", "QueryName", "pool.bit",
				   "QueryType", "A", "DestinationIp", "8.8.8.8", "DestinationPort", "53", NULL);
	EXPECT_RULES(dns, "dns_query_lnx_vigil_alternative_root_tld,dns_query_lnx_vigil_non_configured_resolver");
	struct vg_event *drv = lnx(&c, VG_EV_DRIVER_LOAD, "lab:100:1", 100, "/usr/bin/kmod", "ModulePath", "/tmp/rk.ko",
				   "Syscall", "finit_module", NULL);
	EXPECT_RULES(drv, "driver_load_lnx_vigil_module_user_writable");
	ASSERT_STR_EQ(vg_event_get(drv, "VigilTargetUserWritable"), "true");

	/* a flagged dropper writes and runs a payload, then plants an SSH key */
	snprintf(p2, sizeof(p2), "%s/dropper", dir);
	struct vg_event *dr = lnx(&c, VG_EV_PROCESS_START, "lab:200:6", 0, p2, "Comm", "dropper", NULL);
	set_parent(dr, "lab:100:1", 100);
	EXPECT_RULES(dr, "proc_creation_lnx_vigil_exec_from_tmp");
	vg_tree_flag(c.tree, "lab:200:6", VG_LEVEL_HIGH);
	snprintf(p, sizeof(p), "%s/payload", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/true '%s'", p);
	ASSERT_EQ(system(cmd), 0);
	struct vg_event *fw = lnx(&c, VG_EV_FILE_CREATE, "lab:200:6", 200, p2, "TargetFilename", p, "Flags", "O_CREAT", NULL);
	EXPECT_RULES(fw, "");
	ASSERT_TRUE(vg_event_get(fw, "VigilTargetHashes") != NULL); /* an executable was written: hashed */
	ASSERT_STR_EQ(vg_event_get(fw, "VigilElfType"), "dyn");
	struct vg_event *run_p = lnx(&c, VG_EV_PROCESS_START, "lab:201:7", 0, p, "Comm", "payload", NULL);
	set_parent(run_p, "lab:200:6", 200);
	EXPECT_RULES(run_p, "proc_creation_lnx_vigil_dropped_user_writable,proc_creation_lnx_vigil_exec_from_tmp");
	struct vg_event *ak = lnx(&c, VG_EV_FILE_WRITE, "lab:200:6", 200, p2, "TargetFilename",
				  "/home/vg-no-such-user/.ssh/authorized_keys", NULL);
	EXPECT_RULES(ak, "file_event_lnx_vigil_authorized_keys_flagged");
	struct vg_event *pre = lnx(&c, VG_EV_FILE_CREATE, "lab:100:1", 100, "/usr/bin/bash", "TargetFilename",
				   "/etc/ld.so.preload", NULL);
	EXPECT_RULES(pre, "file_event_lnx_vigil_ld_preload");

	/* memory writes: into its own fresh child, and into another process */
	snprintf(p2, sizeof(p2), "%s/inj", dir);
	struct vg_event *inj = lnx(&c, VG_EV_PROCESS_START, "lab:300:8", 0, p2, NULL);
	set_parent(inj, "lab:100:1", 100);
	EXPECT_RULES(inj, "proc_creation_lnx_vigil_exec_from_tmp");
	struct vg_event *kid = lnx(&c, VG_EV_PROCESS_START, "lab:301:9", 0, "/usr/bin/sleep", "Comm", "sleep", NULL);
	set_parent(kid, "lab:300:8", 300);
	EXPECT_RULES(kid, "");
	struct vg_event *w1 = lnx(&c, VG_EV_PROCESS_TAMPER, "lab:300:8", 300, p2, "TargetProcessId", "301",
				  "TargetImage", "/usr/bin/sleep", "Type", "ptrace_poketext", "Request", "4", NULL);
	w1->target.key = edup(w1, "lab:301:9");
	w1->target.pid = 301;
	EXPECT_RULES(w1, "proc_tampering_lnx_vigil_memory_write_fresh_child");
	struct vg_event *w2 = lnx(&c, VG_EV_PROCESS_TAMPER, "lab:300:8", 300, p2, "TargetProcessId", "100",
				  "TargetImage", "/usr/bin/bash", "Type", "process_vm_writev", NULL);
	w2->target.key = edup(w2, "lab:100:1");
	w2->target.pid = 100;
	EXPECT_RULES(w2, "proc_tampering_lnx_vigil_memory_write_other_process");

	/* persistence written by a process in its own root: read through /proc/<pid>/root */
	struct vg_event *pe[4] = { 0 };
	pid_t jail = -1;
	if (!is_root) {
		if (ci)
			VG_FAIL_("CI=true but not root: chroot for the /proc/<pid>/root persistence cases is needed");
		fprintf(stderr, "    SKIP (loud): not root, persistence cases through /proc/<pid>/root not run\n");
	} else {
		ASSERT_EQ(put(root, "/var/spool/cron/crontabs/u", "*/5 * * * * /home/u/.cache/.sysd/kw >/dev/null 2>&1\n"), 0);
		ASSERT_EQ(put(root, "/home/u/.bashrc", "alias ll='ls -l'\n(nohup \"$HOME/.cache/.sysd/kw\" &) >/dev/null\n"), 0);
		ASSERT_EQ(put(root, "/home/u/.config/systemd/user/kw.service",
			      "[Service]\nExecStart=/usr/bin/env\nExecStartPost=/dev/shm/.kw --daemon\n"), 0);
		ASSERT_EQ(put(root, "/home/u/.config/autostart/kw.desktop", "[Desktop Entry]\nExec=/tmp/.kw %u\n"), 0);
		jail = chrooted(root);
		ASSERT_TRUE(jail > 0);
		static const char *const files[4] = { "/var/spool/cron/crontabs/u", "/home/u/.bashrc",
						      "/home/u/.config/systemd/user/kw.service",
						      "/home/u/.config/autostart/kw.desktop" };
		static const char *const rules[4] = { "file_event_lnx_vigil_persistence_cron",
						      "file_event_lnx_vigil_persistence_shell_rc",
						      "file_event_lnx_vigil_persistence_systemd",
						      "file_event_lnx_vigil_persistence_xdg_autostart" };
		static const char *const targets[4] = { "/home/u/.cache/.sysd/kw", "/home/u/.cache/.sysd/kw",
							"/dev/shm/.kw", "/tmp/.kw" };
		for (int i = 0; i < 4; i++) {
			pe[i] = lnx(&c, VG_EV_FILE_WRITE, "lab:400:10", (uint32_t)jail, "/usr/bin/vi", "TargetFilename",
				    files[i], NULL);
			char got[512];
			run(&c, pe[i], got, sizeof(got));
			if (strcmp(got, rules[i]) != 0)
				VG_FAIL_("%s: rules \"%s\", expected \"%s\"", files[i], got, rules[i]);
			if (!pe[i]->persist.target || strcmp(pe[i]->persist.target, targets[i]) != 0)
				VG_FAIL_("%s: target %s, expected %s", files[i],
					 pe[i]->persist.target ? pe[i]->persist.target : "(none)", targets[i]);
		}
		kill(jail, SIGKILL);
		waitpid(jail, NULL, 0);
		/* the same write seen from outside the root finds no file: kind known, no target, no rule */
		struct vg_event *out = lnx(&c, VG_EV_FILE_WRITE, "lab:401:11", 0, "/usr/bin/vi", "TargetFilename",
					   "/home/u/.config/autostart/kw.desktop", NULL);
		EXPECT_RULES(out, "");
		ASSERT_EQ(out->persist.kind, VG_PERSIST_XDG_AUTOSTART);
		vg_event_free(out);

		/* every project Linux rule fired on some event */
		int ngen = 0;
		for (size_t i = 0; i < vg_ruleset_count(c.rs); i++)
			ngen += vg_rule_generates(vg_ruleset_rule(c.rs, i)) != 0;
		ASSERT_GE(nrules, ngen);
		ASSERT_EQ(c.nfired, ngen);
		for (size_t i = 0; i < vg_ruleset_count(c.rs); i++) {
			const struct vg_rule *r = vg_ruleset_rule(c.rs, i);
			if (!vg_rule_generates(r))
				continue; /* correlation-only steps (the correlation has its own sample) */
			const char *b = strrchr(r->file, '/');
			int found = 0;
			for (int k = 0; k < c.nfired && !found; k++)
				found = strncmp(c.fired[k], b + 1, strlen(c.fired[k])) == 0;
			if (!found)
				VG_FAIL_("rule %s never fired", r->file);
		}
	}

	struct vg_event *all[] = { sh, tb, shm, mfd, kt, rn, net, pay, dns, drv, dr, fw, run_p, ak, pre, inj, kid, w1, w2,
				   pe[0], pe[1], pe[2], pe[3] };
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		vg_event_free(all[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, root);
	ASSERT_EQ(system(cmd), 0);
	vg_ruleset_free(c.rs);
	vg_tree_free(c.tree);
	vg_linux_facts_free(c.facts);
}

/* A process running a deleted copy of a program: hashed through /proc/<pid>/exe. */
TEST(linux_enrich_deleted_exe_through_proc)
{
	char dir[] = "/tmp/vgtest-del-XXXXXX", p[128], cmd[300];
	struct vg_linux_facts *f;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/sleep", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/sleep '%s'", p);
	ASSERT_EQ(system(cmd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		execl(p, "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	ASSERT_TRUE(pid > 0);
	/* wait until the exec happened: /proc/<pid>/exe names the copy */
	char exe[64], real[256] = "";
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 100000 && strncmp(real, p, strlen(p)) != 0; i++) {
		ssize_t n = readlink(exe, real, sizeof(real) - 1);
		real[n > 0 ? n : 0] = '\0';
		if (strncmp(real, p, strlen(p)) != 0)
			usleep(100);
	}
	ASSERT_TRUE(strncmp(real, p, strlen(p)) == 0);
	unlink(p);
	ASSERT_EQ(vg_linux_facts_new(NULL, &f), 0);
	struct vg_event *ev = vg_event_new();
	char img[200];
	snprintf(img, sizeof(img), "%s (deleted)", p);
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->proc.pid = (uint32_t)pid;
	ev->proc.image = img;
	vg_event_add_field(ev, "ExeDeleted", 10, "true", 4);
	ev->nraw = ev->nfields;
	ASSERT_EQ(vg_linux_enrich(f, ev), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ASSERT_STR_EQ(vg_event_get(ev, "VigilImagePathClass"), "deleted");
	const char *h = vg_event_get(ev, "Hashes");
	ASSERT_TRUE(h != NULL);
	struct vg_file_facts ff;
	ASSERT_EQ(vg_hashcache_path(vg_linux_facts_hashcache(f), "/usr/bin/sleep", 0, &ff, NULL), 0);
	ASSERT_TRUE(strstr(h, ff.sha256) != NULL); /* the deleted copy has sleep's bytes */
	ASSERT_STR_EQ(vg_event_get(ev, "Package"), ""); /* not the packaged path */
	vg_event_free(ev);
	vg_linux_facts_free(f);
	rmdir(dir);
}

TEST(linux_enrich_leaves_windows_events)
{
	struct vg_linux_facts *f;
	ASSERT_EQ(vg_linux_facts_new(NULL, &f), 0);
	struct vg_event *ev = vg_test_sysmon(1, "2024-01-01 00:00:00.000", "Image", "C:\\Windows\\cmd.exe", NULL);
	uint32_t n = ev->nfields;
	ASSERT_EQ(vg_linux_enrich(f, ev), 0);
	ASSERT_EQ(ev->nfields, n);
	vg_event_free(ev);
	vg_linux_facts_free(f);
}

/*
 * A process in its own mount namespace with a tmpfs only it sees: the file it
 * writes and the program it runs are read through /proc/<pid>/root and
 * /proc/<pid>/exe, and no host package facts are given for it.
 */
TEST(linux_enrich_other_mount_namespace)
{
	int ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;
	if (geteuid() != 0) {
		if (ci)
			VG_FAIL_("CI=true but not root: mount namespaces need CAP_SYS_ADMIN");
		fprintf(stderr, "    SKIP (loud): not root, mount namespace case not run\n");
		return;
	}
	char dir[] = "/tmp/vgtest-ns-XXXXXX", prog[128], script[128];
	int fds[2];
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(prog, sizeof(prog), "%s/bash", dir);
	snprintf(script, sizeof(script), "%s/run.sh", dir);
	int in[2]; /* the child's stdin: it blocks reading it until we close our end */
	ASSERT_EQ(pipe(fds), 0);
	ASSERT_EQ(pipe(in), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(in[1]);
		if (dup2(in[0], 0) < 0)
			_exit(1);
		/* private mounts, a tmpfs over dir, a copy of bash and a script in it, then run the copy */
		close(fds[0]);
		if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=8m") != 0)
			_exit(1);
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "cp /usr/bin/bash '%s' && printf '#!/bin/sh\\necho hi\\n' > '%s' && chmod +x '%s'",
			 prog, script, script);
		if (system(cmd) != 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		close(fds[1]);
		execl(prog, "bash", "-c", "read x", (char *)NULL); /* waits on its stdin */
		_exit(127);
	}
	close(fds[1]);
	close(in[0]);
	char b;
	ASSERT_TRUE(pid > 0);
	int ready = read(fds[0], &b, 1) == 1;
	close(fds[0]);
	if (!ready) {
		waitpid(pid, NULL, 0);
		VG_FAIL_("child could not set up its mount namespace");
	}
	/* wait until it runs the copy */
	char exe[64], real[256] = "";
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 100000 && strcmp(real, prog) != 0; i++) {
		ssize_t n = readlink(exe, real, sizeof(real) - 1);
		real[n > 0 ? n : 0] = '\0';
		if (strcmp(real, prog) != 0)
			usleep(100);
	}
	ASSERT_STR_EQ(real, prog);
	ASSERT_TRUE(access(prog, F_OK) != 0); /* the host does not see it */

	struct vg_linux_facts *f;
	ASSERT_EQ(vg_linux_facts_new(NULL, &f), 0);
	struct vg_event *ev = vg_event_new();
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->proc.pid = (uint32_t)pid;
	ev->proc.image = prog;
	ASSERT_EQ(vg_linux_enrich(f, ev), 0);
	struct vg_event *fw = vg_event_new();
	fw->type = VG_EV_FILE_CREATE;
	fw->platform = VG_PLATFORM_LINUX;
	fw->proc.pid = (uint32_t)pid;
	fw->proc.image = prog;
	fw->file.path = script;
	ASSERT_EQ(vg_linux_enrich(f, fw), 0);
	close(in[1]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	ASSERT_STR_EQ(vg_event_get(ev, "VigilOtherMountNs"), "true");
	struct vg_file_facts ff;
	ASSERT_EQ(vg_hashcache_path(vg_linux_facts_hashcache(f), "/usr/bin/bash", 0, &ff, NULL), 0);
	ASSERT_TRUE(vg_event_get(ev, "Hashes") && strstr(vg_event_get(ev, "Hashes"), ff.sha256));
	ASSERT_STR_EQ(vg_event_get(ev, "Package"), "");
	ASSERT_STR_EQ(vg_event_get(ev, "VigilSysBinWrongPath"), "true");
	ASSERT_TRUE(vg_event_get(fw, "VigilTargetHashes") != NULL); /* read through /proc/<pid>/root */
	ASSERT_STR_EQ(vg_event_get(fw, "VigilTargetUserWritable"), "true");
	vg_event_free(ev);
	vg_event_free(fw);
	vg_linux_facts_free(f);
	rmdir(dir);
}

/* A replay of another machine's events: no file of this machine is read for them. */
TEST(linux_enrich_other_host_reads_no_files)
{
	struct vg_linux_facts_config cfg = { .hostname = "here" };
	struct vg_linux_facts *f;
	ASSERT_EQ(vg_linux_facts_new(&cfg, &f), 0);
	struct vg_event *ev = vg_event_new();
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->host = "elsewhere";
	ev->proc.image = "/usr/bin/bash";
	vg_event_add_field(ev, "Argv0", 5, "[kworker/1:0]", 13);
	ev->nraw = ev->nfields;
	ASSERT_EQ(vg_linux_enrich(f, ev), 0);
	ASSERT_NULL(vg_event_get(ev, "Hashes"));
	ASSERT_NULL(vg_event_get(ev, "Package"));
	ASSERT_STR_EQ(vg_event_get(ev, "VigilImagePathClass"), "system");
	ASSERT_STR_EQ(vg_event_get(ev, "VigilKernelThreadName"), "true");
	struct vg_event *here = vg_event_new(); /* the same event from this machine is hashed */
	here->type = VG_EV_PROCESS_START;
	here->platform = VG_PLATFORM_LINUX;
	here->host = "here";
	here->proc.image = "/usr/bin/bash";
	ASSERT_EQ(vg_linux_enrich(f, here), 0);
	ASSERT_TRUE(vg_event_get(here, "Hashes") != NULL);
	/* and enriching it again (a replayed recording) redoes nothing */
	uint32_t n = here->nfields;
	ASSERT_EQ(vg_linux_enrich(f, here), 0);
	ASSERT_EQ(here->nfields, n);
	vg_event_free(here);
	vg_event_free(ev);
	vg_linux_facts_free(f);
}

TEST(linux_enrich_recorded_reads_no_files_even_for_this_host)
{
	/* vigil hunt / rules test: a recording made on this very machine names pids and files
	   that are gone or are other processes now */
	struct vg_linux_facts_config cfg = { .hostname = "here", .recorded = 1 };
	struct vg_linux_facts *f;
	ASSERT_EQ(vg_linux_facts_new(&cfg, &f), 0);
	struct vg_event *ev = vg_event_new();
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->host = "here";
	ev->proc.image = "/dev/shm/.x/payload";
	ev->proc.pid = (uint32_t)getpid();
	vg_event_add_field(ev, "Argv0", 5, "[kthreadd]", 10);
	ev->nraw = ev->nfields;
	ASSERT_EQ(vg_linux_enrich(f, ev), 0);
	ASSERT_NULL(vg_event_get(ev, "Hashes"));
	ASSERT_NULL(vg_event_get(ev, "VigilHashError"));
	ASSERT_STR_EQ(vg_event_get(ev, "VigilImageUserWritable"), "true");
	ASSERT_STR_EQ(vg_event_get(ev, "VigilKernelThreadName"), "true");
	vg_event_free(ev);
	vg_linux_facts_free(f);
}
