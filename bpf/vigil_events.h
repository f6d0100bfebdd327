/* vigil_events.h - the records the eBPF sensor (bpf/vigil.bpf.c) sends to user space (src/sensor/sensor.c) through the ring buffer; shared by both sides. */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VGB_PATH_MAX 256 /* s1: a path or file name */
#define VGB_DATA_MAX 512 /* s2: a second path, the argv block or a socket payload */
#define VGB_PAYLOAD_MAX 256 /* bytes of a socket payload sent (first write only) */
#define VGB_DIR_END 256 /* a path walked in the kernel ends here in s2 (or cwd) */
#define VGB_NAME_MAX 64  /* name: memfd name, new comm, BPF program name, exe dentry name */

/* What a record reports (one per handler family). */
enum vgb_kind {
	VGB_EXEC = 1,   /* sched_process_exec: s1 = bprm->filename, s2 = argv block, name = exe dentry */
	VGB_FORK,       /* sched_process_fork (new processes only, not threads) */
	VGB_EXIT,       /* sched_process_exit (thread-group leader) a0 = exit_code */
	VGB_OPEN,       /* open/openat/openat2/creat for writing: s1 path, a0 flags, a1 dirfd, a2 created (FMODE_CREATED) */
	VGB_RENAME,     /* rename*: s1 old, s2 new, a0 olddirfd, a1 newdirfd */
	VGB_UNLINK,     /* unlink/unlinkat/rmdir: s1 path, a0 dirfd */
	VGB_CHMOD,      /* chmod/fchmod/fchmodat adding an x bit: s1 path (empty for fchmod), a0 mode, a1 fd or dirfd */
	VGB_CONNECT,    /* connect on AF_INET/AF_INET6: addresses, a0 socket type */
	VGB_PAYLOAD,    /* first bytes written to a socket: s2 payload (len2 bytes), a0 total length, addresses */
	VGB_PTRACE,     /* ptrace: a0 request, a1 target pid */
	VGB_VM_WRITEV,  /* process_vm_writev: a1 target pid */
	VGB_MEMFD,      /* memfd_create: name, a0 flags */
	VGB_PRCTL_NAME, /* prctl(PR_SET_NAME): name = new name, comm = old */
	VGB_MODULE,     /* init_module (a0 image length) / finit_module (a1 fd) */
	VGB_BPF_LOAD,   /* bpf(BPF_PROG_LOAD): a0 prog type, name = program name */
	VGB__KIND_COUNT
};

/* Indexes of the per-CPU counters map (drops and totals). */
enum vgb_counter {
	VGB_CNT_DROP_RINGBUF = 0, /* bpf_ringbuf_output failed: ring buffer full */
	VGB_CNT_DROP_PENDING,     /* the enter->exit table was full */
	VGB_CNT_KILL_EXEC,        /* SIGKILLs sent at exec (marked executables) */
	VGB_CNT_KILL_PID,         /* SIGKILLs sent at a syscall (marked pids) */
	VGB_CNT__COUNT
};

/* The key of the kill-switch map of executables: kernel dev_t (MAJOR<<20|MINOR) and inode number. */
struct vgb_exe_key {
	__u64 dev;
	__u64 ino;
};

/*
 * One record. Fields up to s1 are always sent; s1 and s2 only for kinds that
 * use them (the record is cut after the last used member).
 */
struct vgb_event {
	__u32 kind;        /* enum vgb_kind */
	__u32 syscall;     /* syscall number (x86_64), 0 for scheduler events */
	__u32 pid;         /* thread-group id of the acting process */
	__u32 tid;
	__u32 ppid;        /* parent's tgid (real_parent) */
	__u32 uid;
	__u64 start_ticks; /* process start, clock ticks since boot (as /proc/<pid>/stat field 22) */
	__u64 pstart_ticks;/* parent's start, same unit */
	__u64 ktime_ns;    /* CLOCK_BOOTTIME */
	__s64 ret;         /* syscall return (exit handlers), 0 otherwise */
	__u64 a0, a1, a2, a3; /* kind-specific numbers (see enum vgb_kind) */
	__u64 dev, ino;    /* exec: the executable's kernel dev_t and inode */
	__u32 nlink;       /* exec: links of the executable (0 = deleted) */
	__u16 family;      /* AF_INET / AF_INET6 */
	__u16 sport, dport;/* host order */
	__u16 len1, len2;  /* bytes used in s1 / s2 (payload: bytes copied) */
	__u8 flags;        /* VGB_F_* */
	__u8 pad;
	__u16 dir_off;     /* VGB_F_DIR: s2[dir_off..VGB_DIR_END) is a directory (or the fd's path) walked in the kernel */
	__u64 uptr1, uptr2;/* user pointers kept from syscall entry to exit (strings are read at exit, when paged in) */
	__u16 cwd_off;     /* exec: cwd[cwd_off..VGB_DIR_END) is the working directory (VGB_F_CWD) */
	__u16 pad2[3];
	__u8 saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes */
	char comm[16];
	char name[VGB_NAME_MAX];
	char s1[VGB_PATH_MAX];
	char s2[VGB_DATA_MAX];
	char cwd[2 * VGB_DIR_END]; /* exec only (cut otherwise); the walk ends at VGB_DIR_END, the rest is slack the verifier needs */
	char cgroup[128];  /* exec: the leaf name of the process's cgroup v2 (docker-<id>.scope, <id>...) */
};

#define VGB_F_KILLED 1  /* exec: the executable was marked and SIGKILL was sent */
#define VGB_F_TRUNC 2   /* s2 was cut (argv or payload longer than the buffer) */
#define VGB_F_STREAM 4  /* socket: SOCK_STREAM (else datagram) */
#define VGB_F_DIR 8     /* s2 holds a path walked from dentries (see dir_off) */
#define VGB_F_DIRTRUNC 16 /* that walk stopped early (deeper than the buffer or 32 levels) */
#define VGB_F_CWD 32    /* exec: cwd holds the working directory */

#endif /* VIGIL_EVENTS_H */
