/* test_agent_live.c - vigild live on this machine (the eBPF sensor, the rules, the response): a benign workload raises nothing; the attack simulator is alerted, killed and cleaned up; audit mode only alerts. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "agent_live.h"

/* Root and BPF are needed. In CI (CI=true) their absence is a failure, elsewhere a loud skip. */
int vg_live_need_root(int *vg_test_failed)
{
	if (geteuid() == 0 && access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return 1;
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "    live vigild tests need root and BPF, and CI=true\n");
		*vg_test_failed = 1;
	} else {
		fprintf(stderr, "    SKIPPED: live vigild tests need root and BPF\n");
	}
	return 0;
}

static int socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int vg_live_start(struct vg_live *l, const char *mode, const char *extra_conf)
{
	char conf[600];
	memset(l, 0, sizeof(*l));
	snprintf(l->dir, sizeof(l->dir), "/tmp/vigil-live.XXXXXX");
	if (!mkdtemp(l->dir))
		return -errno;
	snprintf(l->alerts, sizeof(l->alerts), "%s/alerts.jsonl", l->dir);
	snprintf(l->sock, sizeof(l->sock), "%s/vigild.sock", l->dir);
	snprintf(l->state, sizeof(l->state), "%s/state", l->dir);
	snprintf(conf, sizeof(conf), "%s/vigild.conf", l->dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -errno;
	fprintf(f, "mode %s\nalert_log %s\nsocket %s\nstate_dir %s\nlog_level warn\n%s", mode, l->alerts, l->sock,
		l->state, extra_conf ? extra_conf : "");
	fclose(f);
	snprintf(l->log, sizeof(l->log), "%s/vigild.log", l->dir);
	l->pid = fork();
	if (l->pid == 0) {
		char bin[700];
		snprintf(bin, sizeof(bin), "%s/vigild", vg_live_build_dir());
		if (!freopen(l->log, "w", stderr))
			_exit(126);
		execl(bin, bin, "--config", conf, "--foreground", (char *)NULL);
		_exit(127);
	}
	/* up when the status socket answers (the sensor is attached and /proc seeded by then) */
	for (int i = 0; i < 6000; i++) {
		int st;
		if (waitpid(l->pid, &st, WNOHANG) == l->pid) {
			l->pid = 0;
			return -ECHILD;
		}
		if (socket_answers(l->sock))
			return 0;
		usleep(10 * 1000);
	}
	return -ETIMEDOUT;
}

int vg_live_stop(struct vg_live *l)
{
	int st = -1;
	if (l->pid > 0) {
		kill(l->pid, SIGTERM);
		waitpid(l->pid, &st, 0);
		l->pid = 0;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void vg_live_cleanup(struct vg_live *l)
{
	char cmd[600];
	vg_live_stop(l);
	if (l->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", l->dir);
		if (system(cmd)) {
		}
	}
}

const char *vg_live_build_dir(void)
{
	static char dir[600];
	const char *b = vg_test_build_dir();
	if (b[0] == '/')
		return b;
	snprintf(dir, sizeof(dir), "%s/%s", VIGIL_SOURCE_DIR, b);
	return dir;
}

char *vg_live_read(const char *path)
{
	char *out = NULL, cmd[600];
	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	vg_test_run(cmd, &out);
	return out;
}

size_t vg_live_count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *l = s; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len && (!needle || memmem(l, len, needle, strlen(needle))))
			n++;
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

/*
 * Benign workload under vigild in protect mode: build the project from a clean
 * clone, run unit tests, install and remove a Debian package (built here with
 * dpkg-deb, maintainer scripts included). Not one alert may be raised.
 */
TEST(agent_live_benign_workload_raises_nothing)
{
	if (!vg_live_need_root(vg_test_failed))
		return;
	struct vg_live l;
	char cmd[4096], *out = NULL;
	int rc = vg_live_start(&l, "protect", NULL);
	if (rc) {
		char *log = vg_live_read(l.log);
		fprintf(stderr, "    vigild did not start (%d): %s\n", rc, log ? log : "");
		free(log);
		vg_live_cleanup(&l);
		VG_FAIL_("vigild failed to start");
	}
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; "
		 "git clone -q '%s' src; make -s -C src -j2 OPT=-O0 BUILD=b b/vigil >build.log 2>&1; "
		 "src/b/vigil rules check src/rules >/dev/null; "
		 "'%s/tests/run' winpath >unit.log; "
		 "mkdir -p pkg/DEBIAN pkg/usr/share/doc/vigil-benign-probe; "
		 "printf 'Package: vigil-benign-probe\\nVersion: 1.0\\nArchitecture: all\\n"
		 "Maintainer: Vigil tests <tests@vigil.invalid>\\nDescription: benign package for the agent test\\n' "
		 ">pkg/DEBIAN/control; "
		 "printf '#!/bin/sh\\nset -e\\nexit 0\\n' >pkg/DEBIAN/postinst; chmod 755 pkg/DEBIAN/postinst; "
		 "echo hello >pkg/usr/share/doc/vigil-benign-probe/README; "
		 "dpkg-deb -b pkg probe.deb >/dev/null; dpkg -i probe.deb >/dev/null; dpkg -r vigil-benign-probe >/dev/null; "
		 "echo workload-ok",
		 l.dir, VIGIL_SOURCE_DIR, vg_live_build_dir());
	vg_test_run(cmd, &out);
	int workload_ok = out && strstr(out, "workload-ok");
	free(out);
	int stop = vg_live_stop(&l);
	char *alerts = vg_live_read(l.alerts);
	size_t n = vg_live_count(alerts, "\"kind\":\"alert\"");
	if (n)
		fprintf(stderr, "    alerts on benign workload:\n%.4000s\n", alerts);
	free(alerts);
	vg_live_cleanup(&l);
	ASSERT_TRUE(workload_ok);
	ASSERT_EQ(stop, 0);
	ASSERT_EQ(n, 0);
}
