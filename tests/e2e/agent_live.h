/* agent_live.h - helpers for tests that run vigild live (eBPF sensor) with a private configuration and read its alerts. */
#ifndef VIGIL_TEST_AGENT_LIVE_H
#define VIGIL_TEST_AGENT_LIVE_H

#include <stddef.h>
#include <sys/types.h>

struct vg_live {
	pid_t pid;
	char dir[256];    /* private folder: config, alerts, socket, state */
	char alerts[300]; /* the alert log */
	char sock[300];   /* the status socket */
	char state[300];  /* state_dir (quarantine, snapshots) */
	char log[300];    /* vigild's stderr */
};

/* 1 when root and BPF are there; else a failure in CI (CI=true), a loud skip elsewhere. */
int vg_live_need_root(int *vg_test_failed);
/* Starts vigild in mode ("protect"|"audit") with extra config lines; returns when its status socket answers. */
int vg_live_start(struct vg_live *l, const char *mode, const char *extra_conf);
int vg_live_stop(struct vg_live *l); /* SIGTERM, wait; vigild's exit status */
void vg_live_cleanup(struct vg_live *l);
char *vg_live_read(const char *path);            /* whole file (malloc'd), or "" */
size_t vg_live_count(const char *s, const char *needle); /* lines containing needle */
/* Alerts not about processes seeded at start ("Seed":"true"); print: one line each on stderr. */
size_t vg_live_count_new_alerts(const char *alerts, int print);
/* The build folder as an absolute path. */
const char *vg_live_build_dir(void);

#endif
