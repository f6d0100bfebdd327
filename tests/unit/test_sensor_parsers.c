/* test_sensor_parsers.c - unit tests of the sensor's byte parsers: DNS queries and /proc text (stat, status, cmdline, cgroup). */
#include "test.h"

#include "sensor/dns.h"
#include "sensor/procfs.h"
#include "vigil/common.h"

static size_t build_query(uint8_t *q, const char *labels, size_t llen, uint16_t type, uint16_t flags)
{
	uint8_t h[12] = { 0xab, 0xcd, (uint8_t)(flags >> 8), (uint8_t)flags, 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(q, h, 12);
	memcpy(q + 12, labels, llen);
	size_t o = 12 + llen;
	q[o++] = (uint8_t)(type >> 8);
	q[o++] = (uint8_t)type;
	q[o++] = 0;
	q[o++] = 1;
	return o;
}

TEST(dns_query_udp_and_tcp)
{
	uint8_t q[300], t[302];
	struct vg_dns_query d;
	char err[128];
	size_t n = build_query(q, "\4pool\7minexmr\3com", 18, 28, 0x0100);
	ASSERT_EQ(vg_dns_parse_query(q, n, 0, &d, err, sizeof(err)), 0);
	ASSERT_STR_EQ(d.name, "pool.minexmr.com");
	ASSERT_EQ(d.qtype, 28);
	ASSERT_EQ(d.id, 0xabcd);
	ASSERT_STR_EQ(vg_dns_type_name(d.qtype), "AAAA");
	t[0] = 0;
	t[1] = (uint8_t)n;
	memcpy(t + 2, q, n);
	ASSERT_EQ(vg_dns_parse_query(t, n + 2, 1, &d, err, sizeof(err)), 0);
	ASSERT_STR_EQ(d.name, "pool.minexmr.com");
	n = build_query(q, "", 1, 2, 0x0100);
	ASSERT_EQ(vg_dns_parse_query(q, n, 0, &d, err, sizeof(err)), 0);
	ASSERT_STR_EQ(d.name, ".");
}

TEST(dns_query_errors_name_the_offset)
{
	uint8_t q[300];
	struct vg_dns_query d;
	char err[128];
	size_t n = build_query(q, "\4pool\7minexmr\3com", 18, 1, 0x0100);
	ASSERT_EQ(vg_dns_parse_query(q, 20, 0, &d, err, sizeof(err)), VG_ETRUNC);
	ASSERT_TRUE(strstr(err, "at offset 17") != NULL);
	ASSERT_EQ(vg_dns_parse_query(q, 5, 0, &d, err, sizeof(err)), VG_ETRUNC);
	ASSERT_STR_EQ(err, "DNS query: header cut at offset 0");
	n = build_query(q, "\4pool\7minexmr\3com", 18, 1, 0x8180);
	ASSERT_EQ(vg_dns_parse_query(q, n, 0, &d, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "DNS query: a response, not a query at offset 2");
	n = build_query(q, "\xc0\x0c", 2, 1, 0x0100);
	ASSERT_EQ(vg_dns_parse_query(q, n, 0, &d, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "DNS query: compressed or reserved label at offset 12");
	n = build_query(q, "\3a.b\0", 5, 1, 0x0100);
	ASSERT_EQ(vg_dns_parse_query(q, n, 0, &d, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "DNS query: unprintable byte or dot in a label at offset 14");
}

TEST(procfs_stat_with_odd_comm)
{
	const char *s = "4321 (a) b (c)) R 17 4321 4321 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 100 1 1\n";
	struct vg_procstat st;
	char err[128];
	ASSERT_EQ(vg_procfs_parse_stat(s, strlen(s), &st, err, sizeof(err)), 0);
	ASSERT_EQ(st.pid, 4321);
	ASSERT_EQ(st.ppid, 17);
	ASSERT_STR_EQ(st.comm, "a) b (c)");
	ASSERT_EQ(st.state, 'R');
	ASSERT_EQ(st.start_ticks, 98765);
	ASSERT_EQ(vg_procfs_parse_stat("12 (x) S 1 2", 12, &st, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "stat: field separator expected at offset 12");
	ASSERT_EQ(vg_procfs_parse_stat("x", 1, &st, err, sizeof(err)), VG_EPARSE);
	ASSERT_STR_EQ(err, "stat: pid expected at offset 0");
}

TEST(procfs_status_cmdline_cgroup)
{
	const char *status = "Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t0\n";
	uint32_t uid = 0;
	ASSERT_EQ(vg_procfs_parse_uid(status, strlen(status), &uid), 0);
	ASSERT_EQ(uid, 1000);
	ASSERT_EQ(vg_procfs_parse_uid("Name:\tsh\n", 9, &uid), VG_EPARSE);

	static const char argv[] = "python3\0-c\0print('a b')\0\0";
	char out[128], a0[32];
	size_t n = vg_procfs_join_argv(argv, sizeof(argv) - 1, out, sizeof(out), a0, sizeof(a0));
	ASSERT_STR_EQ(out, "python3 -c \"print('a b')\""); /* trailing NULs end the block */
	ASSERT_EQ(n, strlen(out));
	ASSERT_STR_EQ(a0, "python3");
	n = vg_procfs_join_argv(argv, sizeof(argv) - 1, out, 5, NULL, 0);
	ASSERT_STR_EQ(out, "pyth");

	const char *cg = "1:name=systemd:/x\n0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n";
	char path[256], id[80];
	ASSERT_EQ(vg_procfs_parse_cgroup(cg, strlen(cg), path, sizeof(path), id, sizeof(id)), 0);
	ASSERT_STR_EQ(id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ASSERT_TRUE(strncmp(path, "/system.slice/docker-", 21) == 0);
	ASSERT_EQ(vg_procfs_parse_cgroup("0::/user.slice\n", 15, path, sizeof(path), id, sizeof(id)), 0);
	ASSERT_STR_EQ(path, "/user.slice");
	ASSERT_STR_EQ(id, "");
	ASSERT_EQ(vg_procfs_parse_cgroup("garbage", 7, path, sizeof(path), id, sizeof(id)), VG_EPARSE);
}
