/* vigil.bpf.c - Vigil's eBPF sensor (CO-RE): raw tracepoints on exec/fork/exit, a tracepoint on entry/exit of each watched syscall, filtered in the kernel, records to a ring buffer, and the kill switch (marked executables and pids get SIGKILL). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "vigil_events.h"

char LICENSE[] SEC("license") = "GPL";

/* x86_64 syscall numbers of the calls the sensor watches. */
#define NR_write 1
#define NR_open 2
#define NR_writev 20
#define NR_connect 42
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_rename 82
#define NR_rmdir 84
#define NR_creat 85
#define NR_unlink 87
#define NR_chmod 90
#define NR_fchmod 91
#define NR_ptrace 101
#define NR_prctl 157
#define NR_init_module 175
#define NR_openat 257
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_fchmodat 268
#define NR_sendmmsg 307
#define NR_process_vm_writev 311
#define NR_finit_module 313
#define NR_renameat2 316
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_openat2 437
#define NR_fchmodat2 452

#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define AT_FDCWD -100
#define FMODE_CREATED (1u << 20) /* include/linux/fs.h: set when this open created the file */
#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define PR_SET_NAME 15
#define BPF_PROG_LOAD 5
#define SIGKILL 9
#define TICKS_NS 10000000ULL /* NSEC_PER_SEC / USER_HZ (100) */

/* Set by the loader before load. */
const volatile __u32 self_tgid = 0;   /* vigild itself: never reported */
const volatile __u32 payload_max = VGB_PAYLOAD_MAX;
/* Watched syscalls this kernel has no tracepoint for (bit nr): handle_sys_missing takes them. */
const volatile __u64 missing_nr[8] = {};

/* Written by user space through the skeleton's mmapped .bss. */
__u32 kill_pids_active = 0; /* number of marked pids: the per-syscall lookup is skipped at 0 */
__u32 only_tgid = 0;        /* when set, only this process is reported (tests, benchmarks, vigil monitor --pid) */

static __always_inline int ignored(__u32 tgid)
{
	return tgid == self_tgid || (only_tgid && tgid != only_tgid);
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the loader from ringbuf_mb */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VGB_CNT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Scratch record (too big for the 512-byte BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vgb_event);
} scratch SEC(".maps");

/* Records started at syscall entry, completed (return value) at exit; key = tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct vgb_event);
} pending SEC(".maps");

/* Stream sockets whose first write was already looked at; key = struct sock address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} seen_socks SEC(".maps");

/* Kill switch: executables (dev, inode) killed at exec, pids killed at their next syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vgb_exe_key);
	__type(value, __u8);
} kill_exes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} kill_pids SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		(*v)++;
}

static __always_inline __u64 ticks(struct task_struct *t)
{
	return BPF_CORE_READ(t, group_leader, start_boottime) / TICKS_NS;
}

/* A zeroed-header scratch record filled with the acting process. */
static __always_inline struct vgb_event *new_record(__u32 kind, __u32 nr)
{
	__u32 zero = 0;
	struct vgb_event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return NULL;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__builtin_memset(e, 0, offsetof(struct vgb_event, name));
	e->name[0] = 0;
	e->s1[0] = 0;
	e->s2[0] = 0;
	e->kind = kind;
	e->syscall = nr;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->start_ticks = ticks(t);
	e->pstart_ticks = ticks(BPF_CORE_READ(t, real_parent));
	e->ktime_ns = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

#define WAKE_BYTES (64 << 10)

/*
 * Wake the reader only for records that may need an action at once (exec,
 * memory writes, payloads, module and BPF loads) or when 64 KiB are waiting:
 * a wakeup per record costs the writing process more than the record itself.
 * The reader polls at least every VG_SENSOR_POLL_MS (src/sensor/sensor.c).
 */
static __always_inline __u64 wake_flags(__u32 kind)
{
	switch (kind) {
	case VGB_PAYLOAD:
	case VGB_PTRACE:
	case VGB_VM_WRITEV:
	case VGB_MEMFD:
	case VGB_MODULE:
	case VGB_BPF_LOAD:
		/*
		 * Forced, not adaptive (0): adaptive wakes the reader only when
		 * this record is the first unread one, and records written before
		 * it without a wakeup would leave an exec waiting for the next
		 * timed poll (measured: ~18 ms from a miner's exec to its death).
		 */
		return BPF_RB_FORCE_WAKEUP;
	}
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKE_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/*
 * An exec the agent may have to stop at once: from a user-writable place
 * (/tmp, /var/tmp, /dev/shm, /home, /root, /run/user), by a relative name, of
 * a file with no links left (deleted, memfd), or with an argv[0] in brackets
 * (a kernel thread's name). These force a wakeup (kill latency); the others,
 * package programs in a build or a fork/exec storm, wait for the batch.
 */
static __always_inline int exec_urgent(const struct vgb_event *e)
{
	const char *p = e->s1;
	if (e->nlink == 0 || p[0] != '/' || (e->len2 && e->s2[0] == '['))
		return 1;
	if (p[1] == 't' && p[2] == 'm' && p[3] == 'p' && p[4] == '/')
		return 1;
	if (p[1] == 'd' && p[2] == 'e' && p[3] == 'v' && p[4] == '/' && p[5] == 's' && p[6] == 'h' && p[7] == 'm')
		return 1;
	if (p[1] == 'v' && p[2] == 'a' && p[3] == 'r' && p[4] == '/' && p[5] == 't' && p[6] == 'm' && p[7] == 'p')
		return 1;
	if (p[1] == 'h' && p[2] == 'o' && p[3] == 'm' && p[4] == 'e' && p[5] == '/')
		return 1;
	if (p[1] == 'r' && p[2] == 'o' && p[3] == 'o' && p[4] == 't' && p[5] == '/')
		return 1;
	if (p[1] == 'r' && p[2] == 'u' && p[3] == 'n' && p[4] == '/' && p[5] == 'u' && p[6] == 's' && p[7] == 'e')
		return 1;
	return 0;
}

/* Sends a record, cut after s1 or s2 as the kind needs; a full ring buffer is counted, never silent. */
static __always_inline void emit(struct vgb_event *e)
{
	long rc;
	__u64 fl = wake_flags(e->kind);
	switch (e->kind) {
	case VGB_FORK:
	case VGB_EXIT:
	case VGB_PTRACE:
	case VGB_VM_WRITEV:
	case VGB_MEMFD:
	case VGB_PRCTL_NAME:
	case VGB_BPF_LOAD:
	case VGB_CONNECT:
		rc = bpf_ringbuf_output(&events, e, offsetof(struct vgb_event, s1), fl);
		break;
	case VGB_OPEN:
	case VGB_UNLINK:
	case VGB_CHMOD:
	case VGB_MODULE:
		if (e->flags & VGB_F_DIR)
			rc = bpf_ringbuf_output(&events, e, offsetof(struct vgb_event, s2) + VGB_DIR_END, fl);
		else
			rc = bpf_ringbuf_output(&events, e, offsetof(struct vgb_event, s2), fl);
		break;
	case VGB_EXEC:
		rc = bpf_ringbuf_output(&events, e, sizeof(*e), fl);
		break;
	default:
		rc = bpf_ringbuf_output(&events, e, offsetof(struct vgb_event, cwd), fl);
	}
	if (rc)
		count(VGB_CNT_DROP_RINGBUF);
}

static __always_inline void stash(struct vgb_event *e)
{
	if (bpf_map_update_elem(&pending, &e->tid, e, BPF_ANY))
		count(VGB_CNT_DROP_PENDING);
}

static __always_inline void read_path(struct vgb_event *e, const char *p)
{
	long n = bpf_probe_read_user_str(e->s1, sizeof(e->s1), p);
	e->len1 = n > 0 ? n - 1 : 0;
}

static __always_inline void read_path2(struct vgb_event *e, const char *p)
{
	long n = bpf_probe_read_user_str(e->s2, VGB_PATH_MAX, p);
	e->len2 = n > 0 ? n - 1 : 0;
}

/* The struct file behind a descriptor of the current process, or NULL. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The socket behind fd (NULL when fd is not a socket). */
static __always_inline struct sock *fd_sock(long fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *s = BPF_CORE_READ(f, private_data);
	return s ? BPF_CORE_READ(s, sk) : NULL;
}

struct walk_ctx {
	struct vgb_event *e;
	struct dentry *d, *root_d;
	struct vfsmount *vm, *root_m;
	struct mount *m;
	int off;
	int to_cwd; /* write into e->cwd instead of e->s2 */
};

/* One path component per call (bpf_loop: verified once, not once per level). */
static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w = arg;
	struct vgb_event *e = w->e;
	struct dentry *d = w->d;
	struct vfsmount *vm = w->vm;
	struct mount *m = w->m;
	if (!e)
		return 1;
	if (d == w->root_d && vm == w->root_m)
		return 1;
	struct dentry *mroot = BPF_CORE_READ(vm, mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == mroot || d == parent) {
		struct mount *mp = BPF_CORE_READ(m, mnt_parent);
		if (d == mroot && mp != m) {
			w->d = BPF_CORE_READ(m, mnt_mountpoint);
			w->m = mp;
			w->vm = (struct vfsmount *)((char *)mp + bpf_core_field_offset(struct mount, mnt));
			return 0;
		}
		return 1;
	}
	__u32 len = BPF_CORE_READ(d, d_name.len);
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	int off = w->off;
	if (len > 255 || (int)len + 1 > off || off > VGB_DIR_END) {
		e->flags |= VGB_F_DIRTRUNC;
		return 1;
	}
	off -= len;
	char *buf = w->to_cwd ? e->cwd : e->s2;
	bpf_probe_read_kernel(&buf[off & 255], len & 255, name);
	off -= 1;
	buf[off & 255] = '/';
	w->off = off;
	w->d = parent;
	return 0;
}

/*
 * Writes the path of (dentry, vfsmount) into s2, ending at VGB_DIR_END,
 * walking up to the process's root and across mount points: how a relative
 * path or a descriptor is named without /proc (the process may be gone when
 * user space reads the record).
 */
static __always_inline int walk_into(struct vgb_event *e, __u64 dentry, __u64 vfsmnt, int to_cwd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct walk_ctx w = {};
	if (!dentry || !vfsmnt)
		return -1;
	w.e = e;
	w.to_cwd = to_cwd;
	w.d = (struct dentry *)dentry;
	w.vm = (struct vfsmount *)vfsmnt;
	w.m = container_of(w.vm, struct mount, mnt);
	w.root_d = BPF_CORE_READ(t, fs, root.dentry);
	w.root_m = BPF_CORE_READ(t, fs, root.mnt);
	w.off = VGB_DIR_END;
	if (bpf_loop(64, walk_step, &w, 0) == 64)
		e->flags |= VGB_F_DIRTRUNC;
	int off = w.off;
	if (off >= VGB_DIR_END) {
		off = VGB_DIR_END - 1;
		if (to_cwd)
			e->cwd[off & 255] = '/';
		else
			e->s2[off & 255] = '/';
	}
	return off;
}

static __always_inline void walk_path(struct vgb_event *e, __u64 dentry, __u64 vfsmnt)
{
	int off = walk_into(e, dentry, vfsmnt, 0);
	if (off >= 0) {
		e->flags |= VGB_F_DIR;
		e->dir_off = off;
	}
}

/* The directory a relative path is resolved in: dirfd's, or the cwd for AT_FDCWD. */
static __always_inline void walk_dirfd(struct vgb_event *e, long dirfd)
{
	if (dirfd == AT_FDCWD) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		walk_path(e, (__u64)BPF_CORE_READ(t, fs, pwd.dentry), (__u64)BPF_CORE_READ(t, fs, pwd.mnt));
	} else {
		struct file *f = fd_file(dirfd);
		if (f)
			walk_path(e, (__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt));
	}
}

static __always_inline void walk_fd(struct vgb_event *e, long fd)
{
	struct file *f = fd_file(fd);
	if (f)
		walk_path(e, (__u64)BPF_CORE_READ(f, f_path.dentry), (__u64)BPF_CORE_READ(f, f_path.mnt));
}

static __always_inline void sock_addrs(struct vgb_event *e, struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)e->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->daddr, sk, __sk_common.skc_daddr);
	}
	if (BPF_CORE_READ(sk, sk_type) == SOCK_STREAM)
		e->flags |= VGB_F_STREAM;
}

/* A destination from a user sockaddr (sendto/sendmsg on an unconnected socket). */
static __always_inline void user_dest(struct vgb_event *e, const void *uaddr)
{
	__u16 fam = 0;
	if (!uaddr || bpf_probe_read_user(&fam, sizeof(fam), uaddr))
		return;
	if (fam == AF_INET) {
		struct sockaddr_in sin = {};
		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		e->family = AF_INET;
		e->dport = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(e->daddr, &sin.sin_addr, 4);
	} else if (fam == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		e->family = AF_INET6;
		e->dport = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(e->daddr, &sin6.sin6_addr, 16);
	}
}

SEC("raw_tracepoint/sched_process_exec")
int handle_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vgb_exe_key key = {};
	struct vgb_event *e;
	struct file *f = BPF_CORE_READ(bprm, file);
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	int killed = 0;

	key.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	key.ino = BPF_CORE_READ(ino, i_ino);
	if (bpf_map_lookup_elem(&kill_exes, &key)) {
		bpf_send_signal(SIGKILL); /* delivered before the new program's first instruction */
		count(VGB_CNT_KILL_EXEC);
		killed = 1;
	}
	if (ignored(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!(e = new_record(VGB_EXEC, 0)))
		return 0;
	e->dev = key.dev;
	e->ino = key.ino;
	e->nlink = BPF_CORE_READ(ino, __i_nlink);
	if (killed)
		e->flags |= VGB_F_KILLED;
	long n = bpf_probe_read_kernel_str(e->s1, sizeof(e->s1), BPF_CORE_READ(bprm, filename));
	e->len1 = n > 0 ? n - 1 : 0;
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	unsigned long as = BPF_CORE_READ(t, mm, arg_start), ae = BPF_CORE_READ(t, mm, arg_end);
	unsigned long len = ae > as ? ae - as : 0;
	e->a0 = len;
	if (len > VGB_DATA_MAX) {
		len = VGB_DATA_MAX;
		e->flags |= VGB_F_TRUNC;
	}
	if (bpf_probe_read_user(e->s2, len & (VGB_DATA_MAX - 1 | VGB_DATA_MAX), (void *)as) == 0)
		e->len2 = len;
	bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup), BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, name));
	int off = walk_into(e, (__u64)BPF_CORE_READ(t, fs, pwd.dentry), (__u64)BPF_CORE_READ(t, fs, pwd.mnt), 1);
	if (off >= 0) {
		e->flags |= VGB_F_CWD;
		e->cwd_off = off;
	}
	/* urgent execs wake the reader at once; a storm of system programs does not */
	if (bpf_ringbuf_output(&events, e, sizeof(*e), exec_urgent(e) ? BPF_RB_FORCE_WAKEUP : wake_flags(VGB_EXEC)))
		count(VGB_CNT_DROP_RINGBUF);
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	struct vgb_event *e;
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (BPF_CORE_READ(child, pid) != ctgid)
		return 0; /* a new thread, not a new process */
	if (ignored(ctgid))
		return 0; /* the record is about the child: vigild's children are reported */
	if (!(e = new_record(VGB_FORK, 0)))
		return 0;
	/* The record describes the child; the acting process is its parent. */
	e->ppid = e->pid;
	e->pstart_ticks = e->start_ticks;
	e->pid = BPF_CORE_READ(child, tgid);
	e->tid = e->pid;
	e->start_ticks = BPF_CORE_READ(child, start_boottime) / TICKS_NS;
	emit(e);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int handle_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)ctx->args[0];
	struct vgb_event *e;
	__u32 tgid = BPF_CORE_READ(t, tgid);
	if (BPF_CORE_READ(t, pid) != tgid)
		return 0;
	/* a marked pid is unmarked when it is gone: the raw sys_enter program is detached at 0 */
	if (kill_pids_active && bpf_map_delete_elem(&kill_pids, &tgid) == 0)
		__sync_fetch_and_add(&kill_pids_active, (__u32)-1); /* result unused: a plain atomic add */
	if (ignored(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (!(e = new_record(VGB_EXIT, 0)))
		return 0;
	e->a0 = BPF_CORE_READ(t, exit_code);
	emit(e);
	return 0;
}

/*
 * The key of a connection in seen_socks: the socket's address mixed with its
 * ports and peer, so a struct sock reused from the slab for a new connection
 * is a new key (connect also clears the entry).
 */
static __always_inline __u64 sock_key(struct sock *sk)
{
	__u64 ports = ((__u64)BPF_CORE_READ(sk, __sk_common.skc_num) << 16) | BPF_CORE_READ(sk, __sk_common.skc_dport);
	__u64 peer = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	return (__u64)sk ^ (ports << 40) ^ (peer << 8);
}

/*
 * Socket writes: the first bytes of a stream socket's first write, every UDP
 * datagram to port 53. buf2/len2: the second iovec, appended when the first
 * is a short prefix (DNS over TCP writes its 2-byte length alone).
 */
static __always_inline void on_send(__u32 nr, long fd, const void *buf, __u64 len, const void *uaddr,
				    const void *buf2, __u64 len2)
{
	struct sock *sk = fd_sock(fd);
	struct vgb_event *e;
	__u8 one = 1;
	if (!sk || !buf)
		return;
	__u64 skey = sock_key(sk);
	__u16 fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam != AF_INET && fam != AF_INET6)
		return;
	__u16 type = BPF_CORE_READ(sk, sk_type);
	if (type == SOCK_STREAM) {
		if (bpf_map_lookup_elem(&seen_socks, &skey))
			return;
		bpf_map_update_elem(&seen_socks, &skey, &one, BPF_ANY);
	} else if (type != SOCK_DGRAM) {
		return;
	}
	if (!(e = new_record(VGB_PAYLOAD, nr)))
		return;
	sock_addrs(e, sk);
	if (type == SOCK_DGRAM && uaddr)
		user_dest(e, uaddr);
	if (e->dport != 53 && type == SOCK_DGRAM)
		return;
	__u64 n = len < payload_max ? len : payload_max;
	if (n > VGB_PAYLOAD_MAX)
		n = VGB_PAYLOAD_MAX;
	if (bpf_probe_read_user(e->s2, n & (VGB_PAYLOAD_MAX - 1 | VGB_PAYLOAD_MAX), buf))
		return;
	if (buf2 && len2 && n == len && n < 16) {
		__u64 m = len2 < VGB_PAYLOAD_MAX - 16 ? len2 : VGB_PAYLOAD_MAX - 16;
		if (bpf_probe_read_user(&e->s2[n & 15], m & (VGB_PAYLOAD_MAX - 1), buf2) == 0) {
			n += m;
			len += len2;
		}
	}
	if (e->dport != 53) {
		/* A stream payload is reported only when it looks like JSON (JSON-RPC, stratum). */
		char c = 0;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			c = e->s2[i];
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				break;
		}
		if (c != '{' && c != '[')
			return;
	}
	e->len2 = n;
	e->a0 = len;
	if (len > n)
		e->flags |= VGB_F_TRUNC;
	emit(e);
}

/* The first two iovecs of an iovec array in user memory (the second zeroed when cnt < 2). */
static __always_inline int first_iovs(const struct iovec *iov, __u64 cnt, struct iovec *v)
{
	if (!iov || !cnt || bpf_probe_read_user(&v[0], sizeof(v[0]), iov))
		return -1;
	if (cnt < 2 || bpf_probe_read_user(&v[1], sizeof(v[1]), iov + 1)) {
		v[1].iov_base = NULL;
		v[1].iov_len = 0;
	}
	return 0;
}

static __always_inline void on_sendmsg(__u32 nr, long fd, const struct user_msghdr *um)
{
	struct user_msghdr m = {};
	struct iovec v[2] = {};
	if (!um || bpf_probe_read_user(&m, sizeof(m), um))
		return;
	if (first_iovs((const struct iovec *)m.msg_iov, m.msg_iovlen, v))
		return;
	on_send(nr, fd, v[0].iov_base, v[0].iov_len, m.msg_name, v[1].iov_base, v[1].iov_len);
}

/*
 * Kill switch by pid: a marked process gets SIGKILL at its next syscall.
 * Returns 1 when the caller must stop (the process was killed).
 */
static __always_inline int kill_pid_check(__u32 tgid)
{
	if (kill_pids_active && bpf_map_lookup_elem(&kill_pids, &tgid)) {
		bpf_send_signal(SIGKILL);
		count(VGB_CNT_KILL_PID);
		return 1;
	}
	return 0;
}

/*
 * Entry of a watched syscall: nr its number, a[0..5] its arguments. Called
 * from the per-syscall tracepoint programs with a constant nr (the compiler
 * keeps one case of the switch: each small program is verified alone) and
 * from the raw sys_enter fallback with the runtime number.
 */
static __always_inline int on_enter(__u32 nr, const unsigned long *a)
{
	struct vgb_event *e;
	unsigned long a0 = a[0];
	switch (nr) {
	case NR_write:
		on_send(nr, a0, (void *)a[1], a[2], NULL, NULL, 0);
		return 0;
	case NR_sendto:
		on_send(nr, a0, (void *)a[1], a[2],
			(void *)a[4], NULL, 0);
		return 0;
	case NR_writev: {
		struct iovec v[2] = {};
		if (!first_iovs((const struct iovec *)a[1], a[2], v))
			on_send(nr, a0, v[0].iov_base, v[0].iov_len, NULL, v[1].iov_base, v[1].iov_len);
		return 0;
	}
	case NR_sendmsg:
		on_sendmsg(nr, a0, (const struct user_msghdr *)a[1]);
		return 0;
	case NR_sendmmsg: /* glibc's resolver sends its A and AAAA queries together: the first is reported */
		on_sendmsg(nr, a0, (const struct user_msghdr *)a[1]);
		return 0;
	case NR_open:
	case NR_creat:
	case NR_openat:
	case NR_openat2: {
		__u64 flags;
		const char *path;
		long dirfd = AT_FDCWD;
		if (nr == NR_open) {
			path = (const char *)a0;
			flags = a[1];
		} else if (nr == NR_creat) {
			path = (const char *)a0;
			flags = O_CREAT | O_WRONLY | O_TRUNC;
		} else if (nr == NR_openat) {
			dirfd = (int)a0;
			path = (const char *)a[1];
			flags = a[2];
		} else {
			struct open_how how = {};
			dirfd = (int)a0;
			path = (const char *)a[1];
			bpf_probe_read_user(&how, sizeof(how), (void *)a[2]);
			flags = how.flags;
		}
		if (!(flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)))
			return 0;
		if (!(e = new_record(VGB_OPEN, nr)))
			return 0;
		e->a0 = flags;
		e->a1 = dirfd;
		e->uptr1 = (__u64)path;
		stash(e);
		return 0;
	}
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
		if (!(e = new_record(VGB_RENAME, nr)))
			return 0;
		if (nr == NR_rename) {
			e->a0 = e->a1 = (__u64)(long)AT_FDCWD;
			e->uptr1 = a0;
			e->uptr2 = a[1];
		} else {
			e->a0 = (int)a0;
			e->a1 = (int)a[2];
			e->uptr1 = a[1];
			e->uptr2 = a[3];
		}
		stash(e);
		return 0;
	case NR_unlink:
	case NR_rmdir:
	case NR_unlinkat:
		if (!(e = new_record(VGB_UNLINK, nr)))
			return 0;
		if (nr == NR_unlinkat) {
			e->a0 = (int)a0;
			e->a1 = a[2];
			e->uptr1 = a[1];
		} else {
			e->a0 = (__u64)(long)AT_FDCWD;
			e->uptr1 = a0;
		}
		stash(e);
		return 0;
	case NR_chmod:
	case NR_fchmod:
	case NR_fchmodat:
	case NR_fchmodat2: {
		__u64 mode = nr == NR_fchmodat || nr == NR_fchmodat2 ? a[2] : a[1];
		if (!(mode & 0111))
			return 0; /* only changes that make something executable */
		if (!(e = new_record(VGB_CHMOD, nr)))
			return 0;
		e->a0 = mode;
		if (nr == NR_chmod) {
			e->a1 = (__u64)(long)AT_FDCWD;
			e->uptr1 = a0;
		} else if (nr == NR_fchmod) {
			e->a1 = (int)a0;
		} else {
			e->a1 = (int)a0;
			e->uptr1 = a[1];
		}
		stash(e);
		return 0;
	}
	case NR_connect: {
		__u16 fam = 0;
		const void *ua = (const void *)a[1];
		if (bpf_probe_read_user(&fam, sizeof(fam), ua) || (fam != AF_INET && fam != AF_INET6))
			return 0;
		if (!(e = new_record(VGB_CONNECT, nr)))
			return 0;
		e->a1 = (int)a0;
		user_dest(e, ua);
		stash(e);
		return 0;
	}
	case NR_ptrace:
		/* attach/seize and the requests that write into the tracee; the rest (PEEK*, CONT...) stay in the kernel */
		if (a0 != 4 && a0 != 5 && a0 != 6 && a0 != 13 && a0 != 16 && a0 != 0x4205 && a0 != 0x4206)
			return 0;
		if (!(e = new_record(VGB_PTRACE, nr)))
			return 0;
		e->a0 = a0;
		e->a1 = a[1];
		e->a2 = a[2];
		emit(e);
		return 0;
	case NR_process_vm_writev:
		if (!(e = new_record(VGB_VM_WRITEV, nr)))
			return 0;
		e->a1 = a0;
		emit(e);
		return 0;
	case NR_memfd_create:
		if (!(e = new_record(VGB_MEMFD, nr)))
			return 0;
		e->uptr1 = a0;
		e->a0 = a[1];
		stash(e);
		return 0;
	case NR_prctl:
		if (a0 != PR_SET_NAME)
			return 0;
		if (!(e = new_record(VGB_PRCTL_NAME, nr)))
			return 0;
		e->uptr1 = a[1];
		stash(e); /* comm (the old name) is taken now, the new name at exit */
		return 0;
	case NR_init_module:
	case NR_finit_module:
		if (!(e = new_record(VGB_MODULE, nr)))
			return 0;
		if (nr == NR_init_module)
			e->a0 = a[1];
		else
			e->a1 = (int)a0;
		stash(e);
		return 0;
	case NR_bpf: {
		const char *attr = (const char *)a[1];
		if (a0 != BPF_PROG_LOAD)
			return 0;
		if (!(e = new_record(VGB_BPF_LOAD, nr)))
			return 0;
		e->uptr1 = (__u64)attr;
		stash(e);
		return 0;
	}
	}
	return 0;
}

/*
 * Exit of a syscall whose entry stashed a record: completes and sends it.
 * kind: the record kind nr stashes (a constant in the per-syscall programs,
 * so only its case is kept), or 0 (raw fallback): the kind in the record.
 */
static __always_inline int on_exit(__u32 nr, __u32 kind, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct vgb_event *e = bpf_map_lookup_elem(&pending, &tid);
	if (!e)
		return 0;
	if (e->syscall != nr) {
		/* a stale entry (its thread died inside the syscall) under a reused thread id */
		bpf_map_delete_elem(&pending, &tid);
		return 0;
	}
	if (!kind)
		kind = e->kind;
	int send = ret >= 0;
	e->ret = ret;
	/* user strings are read now: the syscall itself has paged them in */
	switch (kind) {
	case VGB_CONNECT:
		send = ret == 0 || ret == -115 /* EINPROGRESS */;
		if (send) {
			struct sock *sk = fd_sock(e->a1);
			if (sk) {
				__u64 skey = sock_key(sk);
				bpf_map_delete_elem(&seen_socks, &skey); /* a new connection: its first write counts */
				__u16 dport = e->dport;
				sock_addrs(e, sk);
				if (!e->dport)
					e->dport = dport;
				e->a0 = BPF_CORE_READ(sk, sk_type);
			}
		}
		break;
	case VGB_OPEN:
		if (!send)
			break;
		read_path(e, (const char *)e->uptr1);
		if (e->s1[0] != '/')
			walk_dirfd(e, (long)e->a1);
		{
			struct file *f = fd_file(ret);
			if (f && (BPF_CORE_READ(f, f_mode) & FMODE_CREATED))
				e->a2 = 1;
		}
		break;
	case VGB_UNLINK:
		if (!send)
			break;
		read_path(e, (const char *)e->uptr1);
		if (e->s1[0] != '/')
			walk_dirfd(e, (long)e->a0);
		break;
	case VGB_CHMOD:
		if (!send)
			break;
		if (nr == NR_fchmod) {
			walk_fd(e, (long)e->a1);
		} else {
			read_path(e, (const char *)e->uptr1);
			if (e->s1[0] != '/')
				walk_dirfd(e, (long)e->a1);
		}
		break;
	case VGB_RENAME:
		if (!send)
			break;
		read_path(e, (const char *)e->uptr1);
		read_path2(e, (const char *)e->uptr2);
		break;
	case VGB_MEMFD:
		if (send)
			bpf_probe_read_user_str(e->name, sizeof(e->name), (const char *)e->uptr1);
		break;
	case VGB_PRCTL_NAME:
		if (send)
			bpf_probe_read_user_str(e->name, 16, (const char *)e->uptr1);
		break;
	case VGB_MODULE: /* reported whether or not the kernel accepted the module */
		send = 1;
		if (nr == NR_finit_module)
			walk_fd(e, (long)e->a1);
		break;
	case VGB_BPF_LOAD: { /* reported whether or not the program loaded */
		__u32 ptype = 0;
		const char *attr = (const char *)e->uptr1;
		send = 1;
		bpf_probe_read_user(&ptype, sizeof(ptype), attr);
		e->a0 = ptype;
		bpf_probe_read_user(e->name, 16, attr + 48); /* union bpf_attr: prog_name (uapi offset) */
		e->name[15] = 0;
		break;
	}
	}
	if (send)
		emit(e);
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

/*
 * The syscall programs: one tracepoint per watched syscall
 * (tracepoint/syscalls/sys_enter_<name>, sys_exit_<name>), so the machine's
 * other syscalls run no BPF at all. The loader turns off the programs of
 * syscalls this kernel does not have (no tracepoint: nothing can call them)
 * and, when the kernel has no syscall tracepoints, loads the raw sys_enter /
 * sys_exit pair below instead (docs/sensor.md).
 */
static __always_inline int sys_enter_tp(__u32 nr, struct trace_event_raw_sys_enter *ctx)
{
	unsigned long a[6];
	if (ignored(bpf_get_current_pid_tgid() >> 32))
		return 0;
	a[0] = ctx->args[0];
	a[1] = ctx->args[1];
	a[2] = ctx->args[2];
	a[3] = ctx->args[3];
	a[4] = ctx->args[4];
	a[5] = ctx->args[5];
	return on_enter(nr, a);
}

#define SYS_ENTER(name)                                                          \
	SEC("tracepoint/syscalls/sys_enter_" #name)                              \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                  \
	{                                                                        \
		return sys_enter_tp(NR_##name, ctx);                             \
	}

#define SYS_EXIT(name, kind)                                                     \
	SEC("tracepoint/syscalls/sys_exit_" #name)                               \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                    \
	{                                                                        \
		return on_exit(NR_##name, kind, ctx->ret);                       \
	}

/* socket writes: entry only */
SYS_ENTER(write)
SYS_ENTER(writev)
SYS_ENTER(sendto)
SYS_ENTER(sendmsg)
SYS_ENTER(sendmmsg)
/* entry only: reported at once */
SYS_ENTER(ptrace)
SYS_ENTER(process_vm_writev)
/* entry stashes, exit completes */
SYS_ENTER(open)
SYS_EXIT(open, VGB_OPEN)
SYS_ENTER(creat)
SYS_EXIT(creat, VGB_OPEN)
SYS_ENTER(openat)
SYS_EXIT(openat, VGB_OPEN)
SYS_ENTER(openat2)
SYS_EXIT(openat2, VGB_OPEN)
SYS_ENTER(rename)
SYS_EXIT(rename, VGB_RENAME)
SYS_ENTER(renameat)
SYS_EXIT(renameat, VGB_RENAME)
SYS_ENTER(renameat2)
SYS_EXIT(renameat2, VGB_RENAME)
SYS_ENTER(unlink)
SYS_EXIT(unlink, VGB_UNLINK)
SYS_ENTER(rmdir)
SYS_EXIT(rmdir, VGB_UNLINK)
SYS_ENTER(unlinkat)
SYS_EXIT(unlinkat, VGB_UNLINK)
SYS_ENTER(chmod)
SYS_EXIT(chmod, VGB_CHMOD)
SYS_ENTER(fchmod)
SYS_EXIT(fchmod, VGB_CHMOD)
SYS_ENTER(fchmodat)
SYS_EXIT(fchmodat, VGB_CHMOD)
SYS_ENTER(fchmodat2)
SYS_EXIT(fchmodat2, VGB_CHMOD)
SYS_ENTER(connect)
SYS_EXIT(connect, VGB_CONNECT)
SYS_ENTER(memfd_create)
SYS_EXIT(memfd_create, VGB_MEMFD)
SYS_ENTER(prctl)
SYS_EXIT(prctl, VGB_PRCTL_NAME)
SYS_ENTER(init_module)
SYS_EXIT(init_module, VGB_MODULE)
SYS_ENTER(finit_module)
SYS_EXIT(finit_module, VGB_MODULE)
SYS_ENTER(bpf)
SYS_EXIT(bpf, VGB_BPF_LOAD)

/*
 * The kill switch's "next syscall", whatever the syscall: attached by the
 * loader only while a pid is marked (vg_sensor_mark_pid), detached once the
 * marked processes are gone (handle_exit unmarks them), so the machine pays
 * for a program on every syscall only for those few moments.
 */
SEC("raw_tracepoint/sys_enter")
int handle_kill_pid(struct bpf_raw_tracepoint_args *ctx)
{
	kill_pid_check(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/*
 * Watched syscalls with no tracepoint on this kernel (loaded only when there
 * are some). A syscall without a tracepoint is one the kernel does not
 * implement (CONFIG_MODULES off: init_module, finit_module): it returns
 * -ENOSYS, so the record is completed at entry with that result, and the
 * attempt is still reported. Costs a short program on every syscall.
 */
SEC("raw_tracepoint/sys_enter")
int handle_sys_missing(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 nr = ctx->args[1];
	if (nr >= 512 || !(missing_nr[nr >> 6 & 7] & (1ULL << (nr & 63))))
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	unsigned long a[6];
	if (ignored(bpf_get_current_pid_tgid() >> 32))
		return 0;
	a[0] = BPF_CORE_READ(regs, di);
	a[1] = BPF_CORE_READ(regs, si);
	a[2] = BPF_CORE_READ(regs, dx);
	a[3] = BPF_CORE_READ(regs, r10);
	a[4] = BPF_CORE_READ(regs, r8);
	a[5] = BPF_CORE_READ(regs, r9);
	on_enter(nr, a);
	return on_exit(nr, 0, -38 /* ENOSYS */);
}

/* Fallback for kernels without syscall tracepoints (not loaded otherwise): every syscall, filtered by number. */
SEC("raw_tracepoint/sys_enter")
int handle_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__u32 nr = (__u32)ctx->args[1];
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	unsigned long a[6];

	if (kill_pid_check(tgid) || ignored(tgid))
		return 0;
	a[0] = BPF_CORE_READ(regs, di);
	a[1] = BPF_CORE_READ(regs, si);
	a[2] = BPF_CORE_READ(regs, dx);
	a[3] = BPF_CORE_READ(regs, r10);
	a[4] = BPF_CORE_READ(regs, r8);
	a[5] = BPF_CORE_READ(regs, r9);
	return on_enter(nr, a);
}

SEC("raw_tracepoint/sys_exit")
int handle_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	return on_exit((__u32)BPF_CORE_READ(regs, orig_ax), 0, (long)ctx->args[1]);
}
