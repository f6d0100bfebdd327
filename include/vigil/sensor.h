/* sensor.h - the eBPF sensor: loads bpf/vigil.bpf.c, turns its ring-buffer records into vg_events (docs/linux-events.md), seeds the process tree from /proc, and holds the in-kernel kill switch. */
#ifndef VIGIL_SENSOR_H
#define VIGIL_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/agent.h"
#include "vigil/event.h"

struct vg_sensor;

struct vg_sensor_opts {
	unsigned ringbuf_mb;  /* ring buffer size in MiB (power of two); 0 = 8 */
	unsigned ringbuf_kb;  /* when not 0, overrides ringbuf_mb (KiB, power of two, >= page size): tests */
	uint32_t self_pid;    /* process whose activity is not reported; 0 = the caller (getpid()) */
	int no_seed;          /* 1: do not emit the synthetic events for processes already running */
	const char *host;     /* host name in events and keys; NULL = gethostname() */
};

/* Counters; drops are summed over CPUs. */
struct vg_sensor_stats {
	uint64_t records;            /* ring-buffer records read */
	uint64_t events;             /* vg_events delivered */
	uint64_t by_type[VG_EV__COUNT];
	uint64_t seeded;             /* synthetic process events for processes found running at start */
	uint64_t forks;              /* fork records (delivered as type other, Type "fork") */
	uint64_t drops_ringbuf;      /* records the kernel could not queue: ring buffer full */
	uint64_t drops_pending;      /* syscalls not followed because the enter->exit table was full */
	uint64_t bad_records;        /* records user space could not decode (never expected) */
	uint64_t kills_exec;         /* SIGKILLs at exec of a marked executable */
	uint64_t kills_pid;          /* SIGKILLs at a syscall of a marked pid */
	uint64_t ringbuf_bytes;
	unsigned ncpus;
};

/*
 * Loads and attaches the BPF programs and, unless opts->no_seed, queues one
 * process_start event (raw field Seed "true") per running process, parents
 * first. Needs root and a kernel with BTF. On failure writes why (not root,
 * no BTF at /sys/kernel/btf/vmlinux, load or attach error with the libbpf
 * reason) to err and returns a negative error; *out is then NULL. opts may
 * be NULL (defaults). Free with vg_sensor_close.
 */
int vg_sensor_open(const struct vg_sensor_opts *opts, struct vg_sensor **out, char *err, size_t errlen);
/*
 * Waits up to timeout_ms (at most 20 ms: records that do not wake the reader
 * wait at most that long) for records and calls fn for each event (the event
 * is reused after fn returns; fn NULL discards). The first call delivers the
 * seeded processes first. Returns the number of events delivered or a
 * negative error (-EINTR is returned as 0).
 */
int vg_sensor_poll(struct vg_sensor *s, int timeout_ms, vg_agent_event_fn fn, void *ctx);
/* Fills st (reads the per-CPU drop counters from the kernel). */
void vg_sensor_stats(struct vg_sensor *s, struct vg_sensor_stats *st);
/* Appends the counters as JSON members (vigild status). */
void vg_sensor_write_status(struct vg_sensor *s, struct vg_buf *b, int *first);
/* Detaches the programs and frees everything. Accepts NULL. */
void vg_sensor_close(struct vg_sensor *s);

/*
 * Kill switch. mark_exe: every later exec of the file (dev as st_dev from
 * stat(2), ino as st_ino) gets SIGKILL in the kernel before the program's
 * first instruction. mark_pid: the process gets SIGKILL at its next syscall.
 * Return 0, or -errno (e.g. -E2BIG when the 4096-entry map is full).
 */
int vg_sensor_mark_exe(struct vg_sensor *s, uint64_t dev, uint64_t ino);
int vg_sensor_unmark_exe(struct vg_sensor *s, uint64_t dev, uint64_t ino);
int vg_sensor_mark_pid(struct vg_sensor *s, uint32_t pid);
int vg_sensor_unmark_pid(struct vg_sensor *s, uint32_t pid);

/* Reports only process pid from now on (0: every process again). For tests, benchmarks and `vigil monitor --pid`. */
void vg_sensor_only_pid(struct vg_sensor *s, uint32_t pid);

/*
 * vigild's live source: the sensor with cfg->ringbuf_mb, seeded. On failure
 * err says why vigild cannot run. The sensor behind a source (for the
 * response layer's mark_exe/mark_pid) is vg_sensor_of_source(src).
 */
int vg_sensor_source_open(const struct vg_agent_config *cfg, struct vg_agent_source *src, char *err, size_t errlen);
struct vg_sensor *vg_sensor_of_source(const struct vg_agent_source *src);

#endif /* VIGIL_SENSOR_H */
