/* test_sensor.c - end-to-end tests of the eBPF sensor: real actions in child processes and the events the loaded BPF programs report for them, drop accounting, the kill switch, vigild running live. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netdb.h>
#include <sched.h>
#include <sys/mount.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "sensor/procfs.h"
#include "vigil/buf.h"
#include "vigil/event.h"
#include "vigil/sensor.h"

/* Root and BPF are needed. In CI (CI=true) their absence is a failure, elsewhere a loud skip. */
static int need_root(int *vg_test_failed)
{
	return vg_test_need_root(vg_test_failed, "the eBPF sensor tests");
}

/* Events collected from the sensor: clones of those whose acting process is one we watch. */
#define MAX_EV 4096
struct collect {
	struct vg_event *ev[MAX_EV];
	size_t n;
	uint32_t pids[8]; /* processes of interest */
	size_t npids;
	uint32_t exited;  /* set when the exit of pids[0] was seen */
};

static int watched(const struct collect *c, uint32_t pid)
{
	for (size_t i = 0; i < c->npids; i++)
		if (c->pids[i] == pid)
			return 1;
	return 0;
}

static void on_event(struct vg_event *ev, void *ctx)
{
	struct collect *c = ctx;
	if (!watched(c, ev->proc.pid))
		return;
	if (ev->type == VG_EV_PROCESS_EXIT && ev->proc.pid == c->pids[0])
		c->exited = 1;
	if (c->n < MAX_EV)
		c->ev[c->n++] = vg_event_clone(ev);
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		vg_event_free(c->ev[i]);
	c->n = 0;
}

static struct vg_sensor *sensor;
static char sensor_err[512];

/* One sensor (not seeded) for the tests; opened once. */
static struct vg_sensor *get_sensor(int *vg_test_failed)
{
	if (!sensor) {
		struct vg_sensor_opts o = { .no_seed = 1 };
		if (vg_sensor_open(&o, &sensor, sensor_err, sizeof(sensor_err))) {
			fprintf(stderr, "    vg_sensor_open: %s\n", sensor_err);
			*vg_test_failed = 1;
			return NULL;
		}
	}
	return sensor;
}

/* Drains until the exit of pids[0] was seen (its records precede its exit in the ring buffer). */
static void drain_until_exit(struct vg_sensor *s, struct collect *c)
{
	for (int i = 0; i < 3000 && !c->exited; i++) /* a hang guard, not a time limit on the sensor */
		vg_sensor_poll(s, 10, on_event, c);
	vg_sensor_poll(s, 0, on_event, c);
}

typedef void (*action_fn)(void *arg);

/*
 * Runs fn in a forked child and collects the events of that child (and of
 * extra pids the child reports). The child waits on a pipe until the parent
 * is ready, so no event is missed. Returns the child's wait status.
 */
static int run_child(struct vg_sensor *s, struct collect *c, action_fn fn, void *arg)
{
	int go[2];
	memset(c, 0, sizeof(*c));
	if (pipe(go))
		return -1;
	vg_sensor_poll(s, 0, NULL, NULL); /* old records */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(90);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	c->pids[c->npids++] = (uint32_t)pid;
	if (write(go[1], "g", 1) != 1)
		return -1;
	close(go[1]);
	int st = 0;
	waitpid(pid, &st, 0);
	drain_until_exit(s, c);
	return st;
}

static const struct vg_event *find(const struct collect *c, enum vg_event_type t, const char *field, const char *value)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->ev[i]->type != t)
			continue;
		if (!field)
			return c->ev[i];
		const char *v = vg_event_get(c->ev[i], field);
		if (v && strcmp(v, value) == 0)
			return c->ev[i];
	}
	return NULL;
}

static void dump(const struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		fprintf(stderr, "      %s pid %u:", vg_event_type_name(c->ev[i]->type), c->ev[i]->proc.pid);
		for (uint32_t k = 0; k < c->ev[i]->nfields && k < 12; k++)
			fprintf(stderr, " %s=%s", c->ev[i]->fields[k].name, c->ev[i]->fields[k].value);
		fputc('\n', stderr);
	}
}

#define EXPECT(ev, c)                                                                           \
	do {                                                                                    \
		if (!(ev)) {                                                                    \
			dump(c);                                                                \
			VG_FAIL_("no event matched: %s", #ev);                                  \
		}                                                                               \
	} while (0)

/* The key of a process as the contract defines it, from /proc/<pid>/stat. */
static void key_of(uint32_t pid, char *out, size_t outlen)
{
	char buf[1024], host[256] = "";
	struct vg_procstat st = { 0 };
	long n = vg_procfs_read(pid, "stat", buf, sizeof(buf));
	if (n > 0)
		vg_procfs_parse_stat(buf, (size_t)n, &st, NULL, 0);
	gethostname(host, sizeof(host) - 1);
	snprintf(out, outlen, "%s:%u:%llu", host, pid, (unsigned long long)st.start_ticks);
}

/* ------------------------------------------------------------------ actions */

static void act_exec(void *arg)
{
	(void)arg;
	execl("/bin/true", "true", "a b", "c", (char *)NULL);
	_exit(91);
}

static void act_exit7(void *arg)
{
	(void)arg;
	_exit(7);
}

static void act_files(void *arg)
{
	const char *dir = arg;
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/new.txt", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* file_create */
	if (fd >= 0 && write(fd, "x", 1) == 1)
		close(fd);
	fd = open(p, O_WRONLY | O_APPEND); /* file_write */
	if (fd >= 0)
		close(fd);
	fd = open(p, O_RDONLY); /* not reported */
	if (fd >= 0)
		close(fd);
	snprintf(q, sizeof(q), "%s/renamed.sh", dir);
	rename(p, q);          /* file_rename */
	chmod(q, 0644);        /* not reported: no x bit */
	chmod(q, 0755);        /* file_chmod */
	if (chdir(dir) == 0) {
		fd = openat(AT_FDCWD, "rel.txt", O_WRONLY | O_CREAT, 0600); /* relative: resolved with the cwd */
		if (fd >= 0) {
			fchmod(fd, 0700); /* fchmod: path from the descriptor */
			close(fd);
		}
		unlink("rel.txt");
	}
	unlink(q);             /* file_delete */
}

struct net_arg {
	uint16_t port;
	const char *payload;
	const char *second;
};

static void act_connect_write(void *arg)
{
	struct net_arg *a = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(a->port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		_exit(92);
	if (a->payload && write(fd, a->payload, strlen(a->payload)) < 0)
		_exit(93);
	if (a->second && write(fd, a->second, strlen(a->second)) < 0)
		_exit(94);
	close(fd);
}

/* A DNS query for name (type A), as a resolver writes it. */
static size_t dns_query(uint8_t *q, const char *name, uint16_t id, uint16_t type)
{
	size_t o = 0;
	uint8_t h[12] = { (uint8_t)(id >> 8), (uint8_t)id, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(q, h, 12);
	o = 12;
	for (const char *l = name; *l;) {
		const char *dot = strchr(l, '.');
		size_t n = dot ? (size_t)(dot - l) : strlen(l);
		q[o++] = (uint8_t)n;
		memcpy(q + o, l, n);
		o += n;
		l += n + (dot ? 1 : 0);
	}
	q[o++] = 0;
	q[o++] = (uint8_t)(type >> 8);
	q[o++] = (uint8_t)type;
	q[o++] = 0;
	q[o++] = 1;
	return o;
}

/* glibc's resolver: connect a UDP socket to the resolver, send A and AAAA with one sendmmsg. */
static void act_dns(void *arg)
{
	(void)arg;
	uint8_t q1[300], q2[300];
	size_t n1 = dns_query(q1, "pool.vigil-test.example", 0x1234, 1);
	size_t n2 = dns_query(q2, "pool.vigil-test.example", 0x1235, 28);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		_exit(95);
	struct iovec v1 = { q1, n1 }, v2 = { q2, n2 };
	struct mmsghdr m[2];
	memset(m, 0, sizeof(m));
	m[0].msg_hdr.msg_iov = &v1;
	m[0].msg_hdr.msg_iovlen = 1;
	m[1].msg_hdr.msg_iov = &v2;
	m[1].msg_hdr.msg_iovlen = 1;
	if (sendmmsg(fd, m, 2, 0) < 0)
		_exit(96);
	/* and an unconnected sendto of a TXT query */
	int fd2 = socket(AF_INET, SOCK_DGRAM, 0);
	n1 = dns_query(q1, "txt.vigil-test.example", 0x2222, 16);
	if (fd2 < 0 || sendto(fd2, q1, n1, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		_exit(97);
}

static volatile long poke_target = 1;

/* Forks a victim that waits; returns its pid. */
static pid_t victim(void)
{
	pid_t v = fork();
	if (v == 0) {
		for (;;)
			pause();
	}
	return v;
}

static void report_pid(int fd, pid_t p)
{
	if (write(fd, &p, sizeof(p)) != sizeof(p))
		_exit(98);
}

static int tamper_fd = -1;

static void act_ptrace(void *arg)
{
	(void)arg;
	pid_t v = victim();
	report_pid(tamper_fd, v);
	if (ptrace(PTRACE_ATTACH, v, 0, 0) == 0) {
		waitpid(v, NULL, 0);
		ptrace(PTRACE_POKEDATA, v, (void *)&poke_target, (void *)42L);
		ptrace(PTRACE_DETACH, v, 0, 0);
	}
	kill(v, SIGKILL);
	waitpid(v, NULL, 0);
}

static void act_vm_writev(void *arg)
{
	(void)arg;
	long val = 7;
	pid_t v = victim();
	report_pid(tamper_fd, v);
	struct iovec local = { &val, sizeof(val) }, remote = { (void *)&poke_target, sizeof(val) };
	process_vm_writev(v, &local, 1, &remote, 1, 0);
	kill(v, SIGKILL);
	waitpid(v, NULL, 0);
}

static void act_proc_mem(void *arg)
{
	(void)arg;
	char p[64];
	long val = 9;
	pid_t v = victim();
	report_pid(tamper_fd, v);
	snprintf(p, sizeof(p), "/proc/%d/mem", (int)v);
	int fd = open(p, O_RDWR);
	if (fd >= 0) {
		if (pwrite(fd, &val, sizeof(val), (off_t)(uintptr_t)&poke_target) < 0)
			_exit(99);
		close(fd);
	}
	kill(v, SIGKILL);
	waitpid(v, NULL, 0);
}

static void act_memfd_exec(void *arg)
{
	(void)arg;
	char buf[65536];
	int fd = (int)syscall(SYS_memfd_create, "vgtest", 0);
	int in = open("/bin/true", O_RDONLY);
	ssize_t n;
	if (fd < 0 || in < 0)
		_exit(100);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			_exit(101);
	close(in);
	char *argv[] = { "true", NULL }, *envp[] = { NULL };
	fexecve(fd, argv, envp);
	_exit(102);
}

static void act_prctl(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "kworker/0:1", 0, 0, 0);
}

static void act_init_module(void *arg)
{
	(void)arg;
	static const char bogus[] = "not an ELF module";
	syscall(SYS_init_module, bogus, sizeof(bogus), "");
}

static void act_bpf_load(void *arg)
{
	(void)arg;
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t)"GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "vgtest");
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------------ tests */

TEST(sensor_exec_fork_exit)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	char me[300], child_key[300];
	ASSERT_TRUE(s != NULL);
	key_of((uint32_t)getpid(), me, sizeof(me));

	int st = run_child(s, &c, act_exec, NULL);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	const struct vg_event *fork_ev = find(&c, VG_EV_OTHER, "EventType", "fork");
	const struct vg_event *ex = find(&c, VG_EV_PROCESS_START, NULL, NULL);
	EXPECT(ex, &c);
	ASSERT_STR_EQ(ex->proc.image, "/usr/bin/true");
	ASSERT_STR_EQ(vg_event_get(ex, "CommandLine"), "true \"a b\" c");
	ASSERT_STR_EQ(vg_event_get(ex, "Argv0"), "true");
	ASSERT_STR_EQ(vg_event_get(ex, "User"), "root");
	ASSERT_STR_EQ(vg_event_get(ex, "ExeMemfd"), "false");
	ASSERT_STR_EQ(vg_event_get(ex, "ExeDeleted"), "false");
	ASSERT_TRUE(vg_event_get(ex, "CurrentDirectory") != NULL);
	ASSERT_TRUE(vg_event_get(ex, "UtcTime") != NULL);
	ASSERT_EQ(ex->platform, VG_PLATFORM_LINUX);
	ASSERT_EQ(ex->source, VG_SRC_EBPF);
	/* the child's key is its pid and start ticks; its parent is this process, keyed the same way */
	ASSERT_STR_EQ(ex->parent.key, me);
	char ppid[16];
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	ASSERT_STR_EQ(vg_event_get(ex, "ParentProcessId"), ppid);
	EXPECT(fork_ev, &c);
	ASSERT_STR_EQ(fork_ev->parent.key, me);
	ASSERT_STR_EQ(fork_ev->proc.key, ex->proc.key);
	snprintf(child_key, sizeof(child_key), "%s", ex->proc.key);
	const struct vg_event *ee = find(&c, VG_EV_PROCESS_EXIT, NULL, NULL);
	EXPECT(ee, &c);
	ASSERT_STR_EQ(ee->proc.key, child_key);
	ASSERT_STR_EQ(vg_event_get(ee, "ExitCode"), "0");
	collect_free(&c);

	st = run_child(s, &c, act_exit7, NULL);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	EXPECT(find(&c, VG_EV_PROCESS_EXIT, "ExitCode", "7"), &c);
	collect_free(&c);
}

TEST(sensor_file_events)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	char dir[] = "/tmp/vigil-sensor-XXXXXX", p[600];
	ASSERT_TRUE(s != NULL);
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	run_child(s, &c, act_files, dir);
	rmdir(dir);
	snprintf(p, sizeof(p), "%s/new.txt", dir);
	const struct vg_event *e = find(&c, VG_EV_FILE_CREATE, "TargetFilename", p);
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "Flags"), "O_WRONLY|O_CREAT|O_TRUNC");
	ASSERT_STR_EQ(e->file.path, p);
	e = find(&c, VG_EV_FILE_WRITE, "TargetFilename", p);
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "Flags"), "O_WRONLY|O_APPEND");
	e = find(&c, VG_EV_FILE_RENAME, "SourceFilename", p);
	EXPECT(e, &c);
	snprintf(p, sizeof(p), "%s/renamed.sh", dir);
	ASSERT_STR_EQ(vg_event_get(e, "TargetFilename"), p);
	ASSERT_STR_EQ(e->file.old_path, vg_event_get(e, "SourceFilename"));
	e = find(&c, VG_EV_FILE_CHMOD, "TargetFilename", p);
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "Mode"), "755");
	size_t nchmod = 0;
	for (size_t i = 0; i < c.n; i++)
		nchmod += c.ev[i]->type == VG_EV_FILE_CHMOD;
	ASSERT_EQ(nchmod, 2); /* 0755 and fchmod 0700; chmod 0644 is filtered in the kernel */
	EXPECT(find(&c, VG_EV_FILE_DELETE, "TargetFilename", p), &c);
	snprintf(p, sizeof(p), "%s/rel.txt", dir);
	EXPECT(find(&c, VG_EV_FILE_CREATE, "TargetFilename", p), &c);
	e = find(&c, VG_EV_FILE_CHMOD, "TargetFilename", p);
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "Mode"), "700");
	EXPECT(find(&c, VG_EV_FILE_DELETE, "TargetFilename", p), &c);
	for (size_t i = 0; i < c.n; i++) /* the read-only open is not reported */
		ASSERT_TRUE(c.ev[i]->type != VG_EV_FILE_WRITE || !strstr(vg_event_get(c.ev[i], "Flags"), "O_RDONLY"));
	collect_free(&c);
}

/* A TCP listener on 127.0.0.1 (*port, 0 = ephemeral) that accepts in a forked child and reads everything. */
static pid_t tcp_server(uint16_t *port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(*port) };
	if (l >= 0)
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	socklen_t sl = sizeof(sin);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 8) ||
	    getsockname(l, (struct sockaddr *)&sin, &sl)) {
		if (l >= 0)
			close(l);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		for (;;) {
			char b[4096];
			int c = accept(l, NULL, NULL);
			while (c >= 0 && read(c, b, sizeof(b)) > 0)
				;
			close(c);
		}
	}
	close(l);
	return p;
}

TEST(sensor_connect_and_stratum_payload)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	char port[16];
	struct net_arg a = { 0 };
	ASSERT_TRUE(s != NULL);
	pid_t srv = tcp_server(&a.port);
	ASSERT_TRUE(srv > 0);
	snprintf(port, sizeof(port), "%u", a.port);
	a.payload = "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"wallet\",\"pass\":\"x\"}}\n";
	a.second = "{\"id\":2,\"method\":\"submit\"}\n";
	run_child(s, &c, act_connect_write, &a);
	const struct vg_event *e = find(&c, VG_EV_NETWORK_CONNECT, "DestinationPort", port);
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "DestinationIp"), "127.0.0.1");
	ASSERT_STR_EQ(vg_event_get(e, "Protocol"), "tcp");
	ASSERT_STR_EQ(vg_event_get(e, "Initiated"), "true");
	ASSERT_STR_EQ(vg_event_get(e, "SourceIp"), "127.0.0.1");
	ASSERT_TRUE(e->net.src_port != 0);
	e = find(&c, VG_EV_NET_PAYLOAD, "DestinationPort", port);
	EXPECT(e, &c);
	ASSERT_TRUE(strstr(vg_event_get(e, "Payload"), "\"method\":\"login\"") != NULL);
	ASSERT_TRUE(strstr(vg_event_get(e, "Payload"), "\\x0a") != NULL); /* the newline, escaped */
	ASSERT_STR_EQ(vg_event_get(e, "Syscall"), "write");
	char len[32];
	snprintf(len, sizeof(len), "%zu", strlen(a.payload));
	ASSERT_STR_EQ(vg_event_get(e, "PayloadLength"), len);
	size_t npayload = 0;
	for (size_t i = 0; i < c.n; i++)
		npayload += c.ev[i]->type == VG_EV_NET_PAYLOAD;
	ASSERT_EQ(npayload, 1); /* only the first write of a connection */
	collect_free(&c);

	/* a first write that is not JSON (HTTP) is not reported */
	a.payload = "GET / HTTP/1.0\r\n\r\n";
	a.second = NULL;
	run_child(s, &c, act_connect_write, &a);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	EXPECT(find(&c, VG_EV_NETWORK_CONNECT, "DestinationPort", port), &c);
	ASSERT_NULL(find(&c, VG_EV_NET_PAYLOAD, NULL, NULL));
	collect_free(&c);
}

TEST(sensor_dns_query)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	ASSERT_TRUE(s != NULL);
	/* a stub resolver on 127.0.0.1:53 when the port is free (the sends are seen either way) */
	int stub = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (stub >= 0 && bind(stub, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(stub);
		stub = -1;
	}
	run_child(s, &c, act_dns, NULL);
	if (stub >= 0)
		close(stub);
	const struct vg_event *e = find(&c, VG_EV_DNS_QUERY, "QueryName", "pool.vigil-test.example");
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "QueryType"), "A");
	ASSERT_STR_EQ(vg_event_get(e, "DestinationIp"), "127.0.0.1");
	ASSERT_STR_EQ(vg_event_get(e, "DestinationPort"), "53");
	ASSERT_STR_EQ(e->dns.query, "pool.vigil-test.example");
	e = find(&c, VG_EV_DNS_QUERY, "QueryName", "txt.vigil-test.example");
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "QueryType"), "TXT");
	collect_free(&c);
}

/*
 * A stub resolver on 127.0.0.1:53/udp in a forked child: answers every query
 * with NXDOMAIN at once. Returns its pid, or -1 when the port is taken.
 */
static pid_t dns_stub(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		for (;;) {
			uint8_t b[512];
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
			if (n < 12)
				continue;
			b[2] = 0x81; /* response, recursion desired */
			b[3] = 0x83; /* recursion available, NXDOMAIN */
			sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	close(fd);
	return p;
}

/* getaddrinfo, with this child's own /etc/resolv.conf (a private mount namespace) naming the stub. */
static void act_getaddrinfo(void *arg)
{
	const char *conf = arg;
	struct addrinfo *res = NULL, hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL))
		_exit(80);
	if (getaddrinfo("gai.vigil-test.example", "80", &hints, &res) == 0)
		freeaddrinfo(res);
}

TEST(sensor_dns_query_from_getaddrinfo)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	char conf[] = "/tmp/vigil-sensor-resolv-XXXXXX";
	ASSERT_TRUE(s != NULL);
	pid_t stub = dns_stub();
	if (stub < 0) {
		fprintf(stderr, "    SKIPPED: 127.0.0.1:53/udp is taken\n");
		return;
	}
	int fd = mkstemp(conf);
	ASSERT_TRUE(fd >= 0);
	static const char text[] = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
	ASSERT_EQ(write(fd, text, sizeof(text) - 1), (long)sizeof(text) - 1);
	close(fd);
	int st = run_child(s, &c, act_getaddrinfo, conf);
	kill(stub, SIGKILL);
	waitpid(stub, NULL, 0);
	unlink(conf);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	const struct vg_event *e = find(&c, VG_EV_DNS_QUERY, "QueryName", "gai.vigil-test.example");
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "DestinationIp"), "127.0.0.1");
	ASSERT_STR_EQ(vg_event_get(e, "Protocol"), "udp");
	const char *qt = vg_event_get(e, "QueryType");
	ASSERT_TRUE(qt && (strcmp(qt, "A") == 0 || strcmp(qt, "AAAA") == 0));
	collect_free(&c);
}

/* DNS over TCP as glibc writes it: writev of the 2-byte length, then the query. */
static void act_dns_tcp(void *arg)
{
	(void)arg;
	uint8_t q[300], pre[2];
	size_t n = dns_query(q, "tcp.vigil-test.example", 0x3333, 16);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		_exit(92);
	pre[0] = (uint8_t)(n >> 8);
	pre[1] = (uint8_t)n;
	struct iovec v[2] = { { pre, 2 }, { q, n } };
	if (writev(fd, v, 2) < 0)
		_exit(93);
	close(fd);
}

TEST(sensor_dns_query_over_tcp)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	uint16_t port = 53;
	ASSERT_TRUE(s != NULL);
	pid_t srv = tcp_server(&port);
	if (srv < 0) {
		fprintf(stderr, "    SKIPPED: 127.0.0.1:53/tcp is taken (%s)\n", strerror(errno));
		return;
	}
	run_child(s, &c, act_dns_tcp, NULL);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	const struct vg_event *e = find(&c, VG_EV_DNS_QUERY, "QueryName", "tcp.vigil-test.example");
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "QueryType"), "TXT");
	ASSERT_STR_EQ(vg_event_get(e, "Protocol"), "tcp");
	collect_free(&c);
}

/* Runs a tamper action whose child reports its victim's pid through a pipe. */
static int run_tamper(struct vg_sensor *s, struct collect *c, action_fn fn, pid_t *victim_pid)
{
	int p[2];
	if (pipe(p))
		return -1;
	tamper_fd = p[1];
	int st = run_child(s, c, fn, NULL);
	close(p[1]);
	if (read(p[0], victim_pid, sizeof(*victim_pid)) != sizeof(*victim_pid))
		*victim_pid = 0;
	close(p[0]);
	return st;
}

static void check_tamper(int *vg_test_failed, struct collect *c, const char *type, pid_t v)
{
	char tp[16];
	snprintf(tp, sizeof(tp), "%d", (int)v);
	const struct vg_event *e = find(c, VG_EV_PROCESS_TAMPER, "Type", type);
	if (!e) {
		dump(c);
		VG_FAIL_("no process_tamper with Type %s", type);
	}
	const char *tpid = vg_event_get(e, "TargetProcessId");
	if (!tpid || strcmp(tpid, tp) != 0)
		VG_FAIL_("TargetProcessId %s != %s", tpid ? tpid : "(null)", tp);
	/* the victim is a child of the acting process: its key has the victim's pid and start */
	char prefix[64];
	snprintf(prefix, sizeof(prefix), ":%d:", (int)v);
	if (!e->target.key || !strstr(e->target.key, prefix))
		VG_FAIL_("target key %s lacks %s", e->target.key ? e->target.key : "(null)", prefix);
}

TEST(sensor_ptrace_and_memory_writes)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	pid_t v = 0;
	ASSERT_TRUE(s != NULL);

	run_tamper(s, &c, act_ptrace, &v);
	ASSERT_TRUE(v > 0);
	const struct vg_event *e = find(&c, VG_EV_PROCESS_ACCESS, "Request", "PTRACE_ATTACH");
	EXPECT(e, &c);
	check_tamper(vg_test_failed, &c, "ptrace_pokedata", v);
	if (*vg_test_failed)
		return;
	ASSERT_STR_EQ(vg_event_get(find(&c, VG_EV_PROCESS_TAMPER, NULL, NULL), "Request"), "PTRACE_POKEDATA");
	collect_free(&c);

	run_tamper(s, &c, act_vm_writev, &v);
	check_tamper(vg_test_failed, &c, "process_vm_writev", v);
	if (*vg_test_failed)
		return;
	collect_free(&c);

	run_tamper(s, &c, act_proc_mem, &v);
	check_tamper(vg_test_failed, &c, "proc_mem_write", v);
	collect_free(&c);
}

TEST(sensor_memfd_exec_and_rename)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	ASSERT_TRUE(s != NULL);
	int st = run_child(s, &c, act_memfd_exec, NULL);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	const struct vg_event *e = find(&c, VG_EV_MEMFD, "Name", "vgtest");
	EXPECT(e, &c);
	e = find(&c, VG_EV_PROCESS_START, "ExeMemfd", "true");
	EXPECT(e, &c);
	ASSERT_STR_EQ(e->proc.image, "/memfd:vgtest");
	ASSERT_STR_EQ(vg_event_get(e, "ExeDeleted"), "true");
	collect_free(&c);

	run_child(s, &c, act_prctl, NULL);
	e = find(&c, VG_EV_PROCESS_RENAME, "NewName", "kworker/0:1");
	EXPECT(e, &c);
	ASSERT_TRUE(vg_event_get(e, "OldName") != NULL);
	collect_free(&c);
}

TEST(sensor_module_and_bpf_load)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	ASSERT_TRUE(s != NULL);
	run_child(s, &c, act_init_module, NULL);
	const struct vg_event *e = find(&c, VG_EV_DRIVER_LOAD, "Syscall", "init_module");
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "ImageLength"), "18");
	collect_free(&c);

	run_child(s, &c, act_bpf_load, NULL);
	e = find(&c, VG_EV_BPF_LOAD, "ProgName", "vgtest");
	EXPECT(e, &c);
	ASSERT_STR_EQ(vg_event_get(e, "ProgType"), "1");
	collect_free(&c);
}

/* The sensor's own process (here: the test runner) is never reported. */
TEST(sensor_self_filter)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	ASSERT_TRUE(s != NULL);
	memset(&c, 0, sizeof(c));
	c.pids[c.npids++] = (uint32_t)getpid();
	vg_sensor_poll(s, 0, NULL, NULL);
	prctl(PR_SET_NAME, "vg-self-test", 0, 0, 0);
	int fd = open("/tmp/vigil-sensor-self", O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	unlink("/tmp/vigil-sensor-self");
	/* a child's exit is the marker that everything before it was read */
	run_child(s, &c, act_exit7, NULL);
	for (size_t i = 0; i < c.n; i++)
		ASSERT_NE(c.ev[i]->proc.pid, (uint32_t)getpid());
	collect_free(&c);
}

static void act_storm(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++)
		prctl(PR_SET_NAME, "vg-storm", 0, 0, 0);
}

/* A storm that overflows a tiny ring buffer is counted as drops, never lost silently: events + drops == actions. */
TEST(sensor_drops_are_counted)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor_opts o = { .no_seed = 1, .ringbuf_kb = 16 };
	struct vg_sensor *s;
	struct vg_sensor_stats before, after;
	struct collect c;
	int n = 20000, go[2];
	ASSERT_EQ(vg_sensor_open(&o, &s, sensor_err, sizeof(sensor_err)), 0);
	ASSERT_EQ(pipe(go), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(90);
		act_storm(&n);
		_exit(0);
	}
	close(go[0]);
	memset(&c, 0, sizeof(c));
	c.pids[c.npids++] = (uint32_t)pid;
	vg_sensor_only_pid(s, (uint32_t)pid); /* nobody else's records compete for the ring buffer */
	vg_sensor_poll(s, 0, NULL, NULL);
	vg_sensor_stats(s, &before);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	close(go[1]);
	waitpid(pid, NULL, 0); /* the storm runs while nobody reads the ring buffer */
	for (int i = 0; i < 100 && !c.exited; i++) {
		vg_sensor_poll(s, 10, on_event, &c);
		if (!c.exited) {
			/* the exit record itself may have been dropped: stop once the ring buffer is empty */
			struct collect tmp = c;
			if (vg_sensor_poll(s, 0, NULL, NULL) == 0 && tmp.n == c.n)
				break;
		}
	}
	vg_sensor_stats(s, &after);
	size_t renames = 0;
	for (size_t i = 0; i < c.n; i++)
		renames += c.ev[i]->type == VG_EV_PROCESS_RENAME;
	uint64_t drops = after.drops_ringbuf - before.drops_ringbuf;
	collect_free(&c);
	vg_sensor_close(s);
	ASSERT_TRUE(drops > 0);
	ASSERT_TRUE(renames > 0);
	/* the storm's renames plus its exit record: each either delivered or counted as dropped */
	ASSERT_EQ(renames + (c.exited ? 1 : 0) + drops, (uint64_t)n + 1);
}

/* A marked executable is killed in the kernel at exec; a marked pid at its next syscall. */
TEST(sensor_kill_switch)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c;
	char path[] = "/tmp/vigil-sensor-kill-XXXXXX";
	struct stat sb;
	ASSERT_TRUE(s != NULL);
	int out = mkstemp(path), in = open("/bin/true", O_RDONLY);
	char buf[65536];
	ssize_t n;
	ASSERT_TRUE(out >= 0 && in >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ASSERT_EQ(write(out, buf, (size_t)n), n);
	close(in);
	fchmod(out, 0755);
	close(out);
	ASSERT_EQ(stat(path, &sb), 0);
	ASSERT_EQ(vg_sensor_mark_exe(s, sb.st_dev, sb.st_ino), 0);
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		execl(path, path, (char *)NULL);
		_exit(91);
	}
	int st = 0;
	waitpid(p, &st, 0);
	vg_sensor_unmark_exe(s, sb.st_dev, sb.st_ino);
	/* unmarked, it runs */
	p = fork();
	if (p == 0) {
		execl(path, path, (char *)NULL);
		_exit(91);
	}
	int st2 = 0;
	waitpid(p, &st2, 0);
	unlink(path);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGKILL);
	ASSERT_TRUE(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);

	/* mark_pid: a process busy in syscalls dies at the next one */
	int go[2];
	ASSERT_EQ(pipe(go), 0);
	p = fork();
	if (p == 0) {
		close(go[0]);
		if (write(go[1], "r", 1) != 1)
			_exit(90);
		for (long i = 0; i < 200000000L; i++)
			getppid();
		_exit(0);
	}
	close(go[1]);
	char b;
	ASSERT_EQ(read(go[0], &b, 1), 1);
	close(go[0]);
	ASSERT_EQ(vg_sensor_mark_pid(s, (uint32_t)p), 0);
	waitpid(p, &st, 0);
	vg_sensor_unmark_pid(s, (uint32_t)p);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGKILL);
	struct vg_sensor_stats ss;
	vg_sensor_stats(s, &ss);
	ASSERT_GE(ss.kills_exec, 1);
	ASSERT_GE(ss.kills_pid, 1);
	memset(&c, 0, sizeof(c));
}

static struct vg_event *seed_self;
static void on_seed(struct vg_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->proc.pid == (uint32_t)getpid() && vg_event_get(ev, "Seed") && !seed_self)
		seed_self = vg_event_clone(ev);
}

/* Seeding: every running process gets a process_start event (parents first) keyed as the BPF side keys it. */
TEST(sensor_seed_keys_match_live_events)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor_opts o = { 0 };
	struct vg_sensor *s;
	struct vg_sensor_stats st;
	char me[300];
	ASSERT_EQ(vg_sensor_open(&o, &s, sensor_err, sizeof(sensor_err)), 0);
	seed_self = NULL;
	vg_sensor_poll(s, 0, on_seed, NULL);
	vg_sensor_stats(s, &st);
	ASSERT_GE(st.seeded, 3);
	key_of((uint32_t)getpid(), me, sizeof(me));
	ASSERT_TRUE(seed_self != NULL);
	ASSERT_STR_EQ(seed_self->proc.key, me);
	ASSERT_EQ(seed_self->type, VG_EV_PROCESS_START);
	char parent[300];
	key_of((uint32_t)getppid(), parent, sizeof(parent));
	ASSERT_STR_EQ(seed_self->parent.key, parent);
	vg_event_free(seed_self);
	seed_self = NULL;
	/* a live exec by a child names this process with the same key */
	struct collect c;
	run_child(s, &c, act_exec, NULL);
	const struct vg_event *e = find(&c, VG_EV_PROCESS_START, NULL, NULL);
	vg_sensor_close(s);
	EXPECT(e, &c);
	ASSERT_STR_EQ(e->parent.key, me);
	collect_free(&c);
}

/* vigild runs live on the sensor (no --replay), answers status with the sensor's counters, stops cleanly. */
TEST(vigild_live_sensor_status_and_stop)
{
	if (!need_root(vg_test_failed))
		return;
	char cmd[1024], *out = NULL;
	vg_sensor_close(sensor); /* the earlier tests' sensor: not needed any more */
	sensor = NULL;
	FILE *f = fopen("/tmp/vigil-e2e-live.conf", "w");
	ASSERT_TRUE(f != NULL);
	fputs("alert_log /tmp/vigil-e2e-live-alerts.jsonl\nsocket /tmp/vigil-e2e-live.sock\nringbuf_mb 4\n", f);
	fclose(f);
	unlink("/tmp/vigil-e2e-live.sock");
	snprintf(cmd, sizeof(cmd), "%s/vigild", vg_test_build_dir());
	fflush(NULL);
	pid_t d = fork();
	if (d == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl(cmd, "vigild", "-c", "/tmp/vigil-e2e-live.conf", (char *)NULL);
		_exit(127);
	}
	int st = -1, up = 0;
	for (int i = 0; i < 3000 && !up; i++) { /* hang guard while it loads */
		struct stat sb;
		if (stat("/tmp/vigil-e2e-live.sock", &sb) == 0)
			up = 1;
		else if (waitpid(d, &st, WNOHANG) == d)
			break;
		else
			usleep(10000);
	}
	if (!up)
		fprintf(stderr, "    vigild did not come up (status %d)\n", st);
	ASSERT_TRUE(up);
	snprintf(cmd, sizeof(cmd), "%s/vigil status --socket /tmp/vigil-e2e-live.sock 2>&1", vg_test_build_dir());
	int rc = vg_test_run(cmd, &out);
	for (int i = 0; i < 100 && rc != 0; i++) { /* the socket file exists from bind(), before listen() */
		free(out);
		out = NULL;
		usleep(10000);
		rc = vg_test_run(cmd, &out);
	}
	kill(d, SIGTERM);
	waitpid(d, &st, 0);
	int ok = rc == 0 && out && strstr(out, "\"kind\":\"ebpf\"") && strstr(out, "\"ringbuf_bytes\":4194304") &&
		 strstr(out, "\"drops\":") && strstr(out, "\"by_type\":{") &&
		 strstr(out, "\"drops_by_cpu\":[");
	if (!ok)
		fprintf(stderr, "    vigil status: %d: %s\n", rc, out ? out : "");
	free(out);
	unlink("/tmp/vigil-e2e-live.conf");
	unlink("/tmp/vigil-e2e-live-alerts.jsonl");
	ASSERT_TRUE(ok);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* Without root, or as root without capabilities, the sensor refuses with the reason. */
TEST(sensor_refuses_without_privilege_and_says_why)
{
	if (!need_root(vg_test_failed))
		return;
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "setpriv --reuid=65534 --regid=65534 --clear-groups %s/vigil monitor --duration 1 2>&1",
		 vg_test_build_dir());
	int st = vg_test_run(cmd, &out);
	int ok = st == 2 && out && strstr(out, "vigil monitor: the eBPF sensor needs root (running as uid 65534)");
	if (!ok)
		fprintf(stderr, "    status %d: %s\n", st, out ? out : "");
	free(out);
	ASSERT_TRUE(ok);
	snprintf(cmd, sizeof(cmd), "setpriv --bounding-set=-all --inh-caps=-all %s/vigil monitor --duration 1 2>&1",
		 vg_test_build_dir());
	st = vg_test_run(cmd, &out);
	ok = st == 2 && out && strstr(out, "vigil monitor: the kernel refused the BPF programs: Operation not permitted");
	if (!ok)
		fprintf(stderr, "    status %d: %s\n", st, out ? out : "");
	free(out);
	ASSERT_TRUE(ok);
}

/* Real sensor events, written as vg_event JSON lines (what `vigil monitor` records), raise the Linux rules in `vigil hunt`. */
TEST(sensor_recording_raises_stratum_and_memfd_rules)
{
	if (!need_root(vg_test_failed))
		return;
	struct vg_sensor *s = get_sensor(vg_test_failed);
	struct collect c, c2;
	struct net_arg a = { 0 };
	ASSERT_TRUE(s != NULL);
	pid_t srv = tcp_server(&a.port);
	ASSERT_TRUE(srv > 0);
	a.payload = "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"4A\",\"pass\":\"x\",\"agent\":\"xmrig/6\"}}\n";
	run_child(s, &c, act_connect_write, &a);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	run_child(s, &c2, act_memfd_exec, NULL);
	FILE *f = fopen("/tmp/vigil-sensor-recording.json", "w");
	ASSERT_TRUE(f != NULL);
	struct vg_buf b = { 0 };
	for (int k = 0; k < 2; k++) {
		struct collect *cc = k ? &c2 : &c;
		for (size_t i = 0; i < cc->n; i++) {
			vg_buf_reset(&b);
			vg_event_write_json(cc->ev[i], &b);
			fwrite(b.p, 1, b.len, f);
			fputc('\n', f);
		}
	}
	vg_buf_free(&b);
	fclose(f);
	collect_free(&c);
	collect_free(&c2);
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil hunt -q /tmp/vigil-sensor-recording.json", vg_test_build_dir());
	int st = vg_test_run(cmd, &out);
	int stratum = out && strstr(out, "4bf75ef1-8638-4054-9c3d-c8f5a702daff") != NULL;
	int memfd = out && strstr(out, "21501c2f-c27f-40cf-b405-accc48197333") != NULL;
	if (!stratum || !memfd)
		fprintf(stderr, "    vigil hunt: status %d: %s\n", st, out ? out : "");
	free(out);
	unlink("/tmp/vigil-sensor-recording.json");
	ASSERT_EQ(st, 1); /* alerts */
	ASSERT_TRUE(stratum);
	ASSERT_TRUE(memfd);
}

/* vigil monitor runs for its duration and prints its counters. */
TEST(sensor_vigil_monitor_runs)
{
	if (!need_root(vg_test_failed))
		return;
	char cmd[1024], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil monitor --json --no-seed --duration 0.3 --types process_exit 2>&1 >/dev/null",
		 vg_test_build_dir());
	int st = vg_test_run(cmd, &out);
	int ok = st == 0 && out && strstr(out, "vigil monitor: ") && strstr(out, " dropped (ring buffer full ");
	if (!ok)
		fprintf(stderr, "    status %d: %s\n", st, out ? out : "");
	free(out);
	ASSERT_TRUE(ok);
	snprintf(cmd, sizeof(cmd), "%s/vigil monitor --types bogus 2>&1", vg_test_build_dir());
	st = vg_test_run(cmd, &out);
	ok = st == 2 && out && strstr(out, "vigil monitor: --types: unknown event type 'bogus'");
	free(out);
	ASSERT_TRUE(ok);
}
