/* bench_response.c - the response layer's cost: policy decision per match (against the rule match itself as baseline) and kill latency from decision to death, p50/p99 (against a bare kill+wait), measured in the same run. Needs root. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vigil/buf.h"
#include "vigil/event.h"
#include "vigil/proctree.h"
#include "vigil/response.h"
#include "vigil/sigma.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char rules_yaml[] = "title: bench kill\n"
				 "id: 30000000-0000-0000-0000-000000000001\n"
				 "logsource: {product: linux, category: process_creation}\n"
				 "detection: {sel: {Image|endswith: '/vg-bench-evil'}, condition: sel}\n"
				 "tags: [attack.t1055.012, attack.execution]\n"
				 "level: high\n";

static const char policy_yaml[] = "default: alert\n"
				  "levels: {critical: kill, high: kill}\n"
				  "tags: {attack.t1055: kill, attack.t1496: kill, attack.t1574.006: remediate}\n"
				  "rules: {00000000-0000-0000-0000-000000000001: alert, 00000000-0000-0000-0000-000000000002: kill}\n"
				  "exclusions: {paths: [/opt/backup/*, /srv/*.bin], processes: [/usr/lib/snapd/*, rsync]}\n"
				  "never_kill: [containerd, dockerd]\n";

static struct vg_event *make_event(pid_t pid, const char *image)
{
	struct vg_event *ev = vg_event_new();
	char key[64], buf[32];
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->source = VG_SRC_EBPF;
	ev->host = "host1";
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->time_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	snprintf(key, sizeof(key), "host1:%d:%llu", (int)pid, (unsigned long long)vg_proc_start_ticks((uint32_t)pid));
	ev->proc.key = vg_event_strdup(ev, key, strlen(key));
	ev->proc.pid = (uint32_t)pid;
	ev->proc.image = vg_event_strdup(ev, image, strlen(image));
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	vg_event_add_field(ev, "ProcessId", 9, buf, strlen(buf));
	vg_event_add_field(ev, "Image", 5, image, strlen(image));
	ev->nraw = ev->nfields;
	return ev;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void on_match_count(const struct vg_rule *r, const struct vg_event *ev, void *ctx)
{
	(void)r;
	(void)ev;
	++*(int *)ctx;
}

static pid_t spawn_sleeper(void)
{
	pid_t p = fork();
	if (p == 0) {
		for (;;)
			pause();
	}
	return p;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 200000, trials = argc > 2 ? atoi(argv[2]) : 100;
	struct vg_ruleset *rs;
	struct vg_policy *pol;
	struct vg_tree *tree;
	struct vg_response *resp;
	struct vg_response_config cfg = { 0 };
	char err[512], why[128], state[] = "/tmp/vg-bench-resp-XXXXXX";

	if (geteuid() != 0) {
		fprintf(stderr, "bench_response: needs root (signals, state folder)\n");
		return 2;
	}
	if (vg_ruleset_new(&rs) || vg_ruleset_load_text(rs, "bench", rules_yaml, sizeof(rules_yaml) - 1, NULL, NULL) != 1 ||
	    vg_policy_parse("bench", policy_yaml, sizeof(policy_yaml) - 1, &pol, err, sizeof(err)) || vg_tree_new(NULL, &tree) ||
	    !mkdtemp(state)) {
		fprintf(stderr, "bench_response: setup failed: %s\n", err);
		return 2;
	}
	cfg.state_dir = state;
	cfg.no_baseline = 1;
	if (vg_response_new(&cfg, tree, &resp, err, sizeof(err))) {
		fprintf(stderr, "bench_response: %s\n", err);
		return 2;
	}
	vg_response_set_policy(resp, pol);
	const struct vg_rule *rule = vg_ruleset_rule(rs, 0);

	/* 1. decision per match: baseline = matching the rule on the event */
	struct vg_event *ev = make_event(1, "/tmp/vg-bench-evil");
	int matches = 0;
	double t0 = now_s();
	for (int i = 0; i < iters; i++)
		vg_ruleset_match(rs, ev, on_match_count, &matches);
	double t_match = (now_s() - t0) / iters;
	volatile int sink = 0;
	t0 = now_s();
	for (int i = 0; i < iters; i++) {
		sink += (int)vg_policy_decide(pol, rule, why, sizeof(why));
		sink += vg_policy_excluded(pol, rule, ev, NULL, why, sizeof(why));
	}
	double t_decide = (now_s() - t0) / iters;
	/* the whole hook in audit mode on pid 1 (plans victims from /proc, acts on nothing) */
	struct vg_buf extra = { 0 };
	vg_response_set_audit(resp, 1);
	int hook_iters = iters / 100 > 100 ? iters / 100 : 100;
	t0 = now_s();
	for (int i = 0; i < hook_iters; i++) {
		extra.len = 0;
		vg_response_respond(resp, rule, ev, &extra);
	}
	double t_hook = (now_s() - t0) / hook_iters;
	vg_event_free(ev);
	printf("decision  match_baseline_us=%.3f decide_us=%.3f ratio=%.2f  audit_hook_us=%.1f ratio=%.1f (iters=%d)\n",
	       t_match * 1e6, t_decide * 1e6, t_decide / t_match, t_hook * 1e6, t_hook / t_match, iters);

	/* 2. kill latency, decision to death (waitpid returns), over trials; baseline = kill(2) + waitpid */
	vg_response_set_audit(resp, 0);
	double *base = calloc((size_t)trials, sizeof(double)), *lat = calloc((size_t)trials, sizeof(double));
	int failed = 0;
	for (int i = 0; i < trials; i++) {
		pid_t p = spawn_sleeper();
		int st;
		t0 = now_s();
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		base[i] = now_s() - t0;

		p = spawn_sleeper();
		ev = make_event(p, "/tmp/vg-bench-evil");
		extra.len = 0;
		t0 = now_s();
		vg_response_respond(resp, rule, ev, &extra);
		if (!memmem(extra.p, extra.len, "\"result\":\"done\"", 15)) {
			failed++;
			kill(p, SIGKILL);
		}
		waitpid(p, &st, 0);
		lat[i] = now_s() - t0;
		vg_event_free(ev);
	}
	qsort(base, (size_t)trials, sizeof(double), cmp_d);
	qsort(lat, (size_t)trials, sizeof(double), cmp_d);
	int p50 = trials / 2, p99 = trials * 99 / 100 >= trials ? trials - 1 : trials * 99 / 100;
	printf("kill      baseline_kill_wait_us p50=%.1f p99=%.1f  decision_to_death_us p50=%.1f p99=%.1f  ratio_p50=%.2f "
	       "ratio_p99=%.2f (trials=%d, failed=%d)\n",
	       base[p50] * 1e6, base[p99] * 1e6, lat[p50] * 1e6, lat[p99] * 1e6, lat[p50] / base[p50], lat[p99] / base[p99],
	       trials, failed);
	free(base);
	free(lat);
	vg_buf_free(&extra);
	vg_response_free(resp);
	vg_tree_free(tree);
	vg_ruleset_free(rs);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", state);
	if (system(cmd)) {
	}
	(void)sink;
	(void)matches;
	return failed ? 1 : 0;
}
