/* procfs.h - parsers for /proc/<pid>/{stat,status,cmdline,cgroup} text and readers that fetch them: what the sensor cannot learn in the kernel. */
#ifndef VIGIL_SENSOR_PROCFS_H
#define VIGIL_SENSOR_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* The fields of /proc/<pid>/stat the sensor uses. */
struct vg_procstat {
	uint32_t pid;
	uint32_t ppid;
	char state;
	char comm[32];        /* without the parentheses, NUL-terminated (comm is <= 15 bytes) */
	uint64_t start_ticks; /* field 22: start time in clock ticks since boot */
};

/*
 * Parses the text of /proc/<pid>/stat. comm may hold spaces and ')' so the
 * last ')' ends it. Returns 0, or VG_EPARSE with "stat: <reason> at offset N"
 * in err.
 */
int vg_procfs_parse_stat(const char *buf, size_t len, struct vg_procstat *out, char *err, size_t errlen);
/* Finds the real uid in /proc/<pid>/status text ("Uid:\t<real>\t..."). Returns 0 or VG_EPARSE. */
int vg_procfs_parse_uid(const char *buf, size_t len, uint32_t *uid);
/*
 * Joins a NUL-separated argv block (/proc/<pid>/cmdline, or the argv bytes
 * the BPF exec record carries) with spaces; arguments containing a space or
 * a tab are quoted with '"'. Writes at most outlen-1 bytes plus a NUL and
 * returns the length written. argv0 (optional) receives the first argument.
 */
size_t vg_procfs_join_argv(const char *buf, size_t len, char *out, size_t outlen, char *argv0, size_t argv0len);
/*
 * From /proc/<pid>/cgroup text: the cgroup v2 path (the "0::" line, else the
 * first line's path) into path, and a container id (64 hex digits in the
 * path, as docker, containerd and podman name their scopes) into id (empty
 * when there is none). Returns 0 or VG_EPARSE when no line has a path.
 */
int vg_procfs_parse_cgroup(const char *buf, size_t len, char *path, size_t pathlen, char *id, size_t idlen);

/* Reads /proc/<pid>/<name> into buf (NUL-terminated). Returns the length or -errno. */
long vg_procfs_read(uint32_t pid, const char *name, char *buf, size_t cap);
/* readlink of /proc/<pid>/<name> (exe, cwd, fd/N) into buf. Returns the length or -errno. */
long vg_procfs_link(uint32_t pid, const char *name, char *buf, size_t cap);

#endif /* VIGIL_SENSOR_PROCFS_H */
