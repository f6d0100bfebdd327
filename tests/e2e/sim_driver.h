/* sim_driver.h - drives build/tools/vigil_sim from a C test: start it, read its JSON lines, look inside its namespace, end it (docs/simulator.md). */
#ifndef VIGIL_SIM_DRIVER_H
#define VIGIL_SIM_DRIVER_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define VG_SIM_MAX_LINES 256

/* A running simulator: its pid, its stdin (closing it ends --keep-alive) and the lines read so far. */
struct vg_sim {
	pid_t pid;
	int in_fd;                       /* write end of its stdin, -1 once closed */
	FILE *out;                       /* its stdout, NULL once finished */
	char *lines[VG_SIM_MAX_LINES];   /* each line as read, with its '\n'; owned, freed by vg_sim_free */
	int n;
	int ns_fd;                       /* its mount namespace, opened at the "ready" line (kept alive until vg_sim_free), or -1 */
};

/* The simulator to run instead of $VIGIL_BUILD/tools/vigil_sim, or NULL. */
extern const char *vg_sim_binary;

/*
 * Starts $VIGIL_BUILD/tools/vigil_sim with the NULL-terminated args and
 * reads its lines until the "holding" line (with --keep-alive) or the end
 * of its output. Returns 0, or -1 when it could not be started.
 */
int vg_sim_start(struct vg_sim *s, const char *const *args);
/* Reads the remaining lines up to the end of its output without closing stdin (after a signal, or to see the runtime cap). */
void vg_sim_read_rest(struct vg_sim *s);
/* Closes its stdin, reads the rest and waits: returns the exit status (128+signal when killed), -1 on a wait error. */
int vg_sim_finish(struct vg_sim *s);
/* Ends it if still running (SIGTERM), then frees the lines. */
void vg_sim_free(struct vg_sim *s);

/* The nth line (from 0) with this stage and event, or NULL. */
const char *vg_sim_line(const struct vg_sim *s, const char *stage, const char *event, int nth);
/* Copies the value at path ("miner.argv0", "pid") of one JSON line into out and returns out; "" when absent or line is NULL. */
const char *vg_sim_get(const char *line, const char *path, char *out, size_t len);
/* Prints every line to stderr (for failure messages). */
void vg_sim_dump(const struct vg_sim *s);
/* How many processes are in the mount namespace ns (the "mntns" of the ready line, e.g. "mnt:[4026532174]"). */
int vg_sim_procs_in_ns(const char *ns);

#endif /* VIGIL_SIM_DRIVER_H */
