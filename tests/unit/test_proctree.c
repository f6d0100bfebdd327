/* test_proctree.c - unit tests of the process tree: PID reuse, ancestry, descendants, eviction, caps and derived fields. */
#include "test.h"
#include "vigil/proctree.h"
#include "vigil/sigma.h"

#define S vg_test_sysmon

static void feed(struct vg_tree *t, struct vg_event *ev)
{
	vg_tree_update(t, ev);
	vg_tree_enrich(t, ev);
}

static struct vg_event *start(const char *time, const char *guid, const char *pid, const char *image,
			      const char *pguid, const char *ppid, const char *pimage)
{
	return S(1, time, "UtcTime", time, "ProcessGuid", guid, "ProcessId", pid, "Image", image,
		 "CommandLine", image, "ParentProcessGuid", pguid, "ParentProcessId", ppid, "ParentImage",
		 pimage, NULL);
}

TEST(tree_ancestry_and_descendants)
{
	struct vg_tree *t;
	ASSERT_EQ(vg_tree_new(NULL, &t), 0);
	struct vg_event *e1 = start("2020-01-01 00:00:00.000", "{A}", "10", "C:\\Windows\\explorer.exe", "{R}", "1", "C:\\Windows\\System32\\userinit.exe");
	struct vg_event *e2 = start("2020-01-01 00:00:01.000", "{B}", "20", "C:\\Windows\\System32\\cmd.exe", "{A}", "10", "C:\\Windows\\explorer.exe");
	struct vg_event *e3 = start("2020-01-01 00:00:02.000", "{C}", "30", "C:\\Windows\\System32\\whoami.exe", "{B}", "20", "C:\\Windows\\System32\\cmd.exe");
	feed(t, e1);
	feed(t, e2);
	feed(t, e3);
	/* braces or not, one process */
	const struct vg_proc_node *c = vg_tree_get(t, "C");
	ASSERT_TRUE(c != NULL);
	ASSERT_STR_EQ(vg_tree_parent(t, c)->image, "C:\\Windows\\System32\\cmd.exe");
	ASSERT_STR_EQ(vg_event_get(e3, "VigilAncestorImages"),
		      "C:\\Windows\\System32\\cmd.exe|C:\\Windows\\explorer.exe|C:\\Windows\\System32\\userinit.exe");
	const struct vg_proc_node *d[8];
	ASSERT_EQ(vg_tree_descendants(t, "{A}", d, 8), 2);
	ASSERT_STR_EQ(d[0]->key, "B");
	ASSERT_STR_EQ(d[1]->key, "C");
	/* the parent seen only as a parent is kept as a placeholder */
	ASSERT_EQ(vg_tree_stats(t)->synthetic, 1);
	vg_event_free(e1);
	vg_event_free(e2);
	vg_event_free(e3);
	vg_tree_free(t);
}

TEST(tree_pid_reuse_without_guids)
{
	struct vg_tree *t;
	ASSERT_EQ(vg_tree_new(NULL, &t), 0);
	/* two processes with pid 500 one after the other, no GUIDs (as Security 4688 gives) */
	struct vg_event *a = start("2020-01-01 00:00:00.000", "", "500", "C:\\one.exe", "", "4", "C:\\p.exe");
	struct vg_event *b = start("2020-01-01 00:10:00.000", "", "500", "C:\\two.exe", "", "4", "C:\\p.exe");
	/* the mapper saw empty GUIDs as absent */
	ASSERT_NULL(a->proc.key);
	feed(t, a);
	ASSERT_TRUE(a->proc.key != NULL);
	struct vg_event *net1 = S(3, "2020-01-01T00:05:00Z", "ProcessId", "500", "DestinationIp", "1.2.3.4", "DestinationPort", "80", NULL);
	feed(t, net1);
	ASSERT_STR_EQ(net1->proc.key, a->proc.key);
	feed(t, b);
	ASSERT_TRUE(strcmp(a->proc.key, b->proc.key) != 0);
	struct vg_event *net2 = S(3, "2020-01-01T00:11:00Z", "ProcessId", "500", "DestinationIp", "1.2.3.4", "DestinationPort", "80", NULL);
	feed(t, net2);
	ASSERT_STR_EQ(net2->proc.key, b->proc.key);
	ASSERT_STR_EQ(vg_tree_get(t, net2->proc.key)->image, "C:\\two.exe");
	ASSERT_EQ(vg_tree_stats(t)->pid_reuse, 1);
	/* the first one is still there, ended */
	ASSERT_TRUE(vg_tree_get(t, a->proc.key)->exit_ns != 0);
	vg_event_free(a);
	vg_event_free(b);
	vg_event_free(net1);
	vg_event_free(net2);
	vg_tree_free(t);
}

TEST(tree_horizon_and_cap)
{
	struct vg_tree_config cfg = { .horizon_ns = 60LL * 1000000000LL, .max_procs = 50 };
	struct vg_tree *t;
	char guid[32], pid[16], tm[40];

	ASSERT_EQ(vg_tree_new(&cfg, &t), 0);
	/* 10 processes that exit at once: gone after the horizon */
	for (int i = 0; i < 10; i++) {
		snprintf(guid, sizeof(guid), "{E%d}", i);
		snprintf(pid, sizeof(pid), "%d", 100 + i);
		struct vg_event *e = start("2020-01-01 00:00:00.000", guid, pid, "C:\\x.exe", "{P}", "1", "C:\\p.exe");
		feed(t, e);
		vg_event_free(e);
		e = S(5, "2020-01-01T00:00:01Z", "UtcTime", "2020-01-01 00:00:01.000", "ProcessGuid", guid, "ProcessId", pid, NULL);
		feed(t, e);
		vg_event_free(e);
	}
	ASSERT_TRUE(vg_tree_get(t, "{E3}") != NULL);
	struct vg_event *later = S(3, "2020-01-01T00:05:00Z", "UtcTime", "2020-01-01 00:05:00.000", "ProcessGuid", "{P}", NULL);
	feed(t, later);
	vg_event_free(later);
	ASSERT_NULL(vg_tree_get(t, "{E3}"));
	ASSERT_EQ(vg_tree_stats(t)->evicted_horizon, 10);
	/* 200 live processes: the cap holds memory at 50 and counts */
	for (int i = 0; i < 200; i++) {
		snprintf(guid, sizeof(guid), "{L%d}", i);
		snprintf(pid, sizeof(pid), "%d", 1000 + i);
		snprintf(tm, sizeof(tm), "2020-01-01 00:06:%02d.000", i % 60);
		struct vg_event *e = start(tm, guid, pid, "C:\\x.exe", "{P}", "1", "C:\\p.exe");
		feed(t, e);
		vg_event_free(e);
	}
	ASSERT_TRUE(vg_tree_stats(t)->procs <= 50);
	ASSERT_GE(vg_tree_stats(t)->evicted_cap, 150);
	ASSERT_TRUE(vg_tree_get(t, "{L199}") != NULL);
	vg_tree_free(t);
}

TEST(tree_enrich_fresh_child_and_drop)
{
	struct vg_tree *t;
	ASSERT_EQ(vg_tree_new(NULL, &t), 0);
	struct vg_event *e[6];
	e[0] = start("2020-01-01 00:00:00.000", "{T}", "10", "C:\\Users\\u\\AppData\\Roaming\\tr.exe", "{X}", "5", "C:\\Windows\\explorer.exe");
	e[1] = start("2020-01-01 00:00:00.100", "{H}", "11", "C:\\Windows\\SysWOW64\\explorer.exe", "{T}", "10", "C:\\Users\\u\\AppData\\Roaming\\tr.exe");
	e[2] = S(10, "2020-01-01T00:00:00.150Z", "UtcTime", "2020-01-01 00:00:00.150", "SourceProcessGUID", "{T}", "SourceProcessId", "10",
		 "SourceImage", "C:\\Users\\u\\AppData\\Roaming\\tr.exe", "TargetProcessGUID", "{H}", "TargetProcessId", "11",
		 "TargetImage", "C:\\Windows\\SysWOW64\\explorer.exe", "GrantedAccess", "0x1fffff", NULL);
	e[3] = S(11, "2020-01-01T00:00:01Z", "UtcTime", "2020-01-01 00:00:01.000", "ProcessGuid", "{H}", "Image",
		 "C:\\Windows\\SysWOW64\\explorer.exe", "TargetFilename", "C:\\Users\\u\\AppData\\Roaming\\svc\\wuauclt.exe", NULL);
	e[4] = start("2020-01-01 00:00:03.000", "{M}", "12", "C:\\Users\\u\\AppData\\Roaming\\svc\\wuauclt.exe", "{H}", "11", "C:\\Windows\\SysWOW64\\explorer.exe");
	e[5] = start("2020-01-01 00:00:04.000", "{W}", "13", "C:\\Windows\\System32\\wuauclt.exe", "{X}", "5", "C:\\Windows\\explorer.exe");
	for (int i = 0; i < 3; i++)
		feed(t, e[i]);
	ASSERT_STR_EQ(vg_event_get(e[2], "VigilTargetIsChild"), "true");
	ASSERT_STR_EQ(vg_event_get(e[2], "VigilTargetAgeMs"), "50");
	ASSERT_STR_EQ(vg_event_get(e[2], "VigilProcessFlagged"), "false");
	/* an alert on the trojan flags its descendants' later events */
	vg_tree_flag(t, "{T}", VG_LEVEL_HIGH);
	for (int i = 3; i < 6; i++)
		feed(t, e[i]);
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilImageDropped"), "true");
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilImageDropper"), "C:\\Windows\\SysWOW64\\explorer.exe");
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilImageDropperFlagged"), "true");
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilImageDroppedAgeSec"), "2");
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilImagePathClass"), "appdata");
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilProcessFlagged"), "true");
	/* the table knows wuauclt.exe: wrong folder for the dropped one, right for the real one */
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilSysBin"), "true");
	ASSERT_STR_EQ(vg_event_get(e[4], "VigilSysBinWrongPath"), "true");
	ASSERT_STR_EQ(vg_event_get(e[5], "VigilSysBinWrongPath"), "false");
	ASSERT_STR_EQ(vg_event_get(e[5], "VigilImageDropped"), "false");
	ASSERT_STR_EQ(vg_event_get(e[5], "VigilProcessFlagged"), "false");
	for (int i = 0; i < 6; i++)
		vg_event_free(e[i]);
	vg_tree_free(t);
}

TEST(tree_enrich_persistence_and_dns)
{
	struct vg_tree_config cfg = { .resolvers = "10.0.0.1, 10.0.0.2" };
	struct vg_tree *t;
	ASSERT_EQ(vg_tree_new(&cfg, &t), 0);
	struct vg_event *w = S(11, "2020-01-01T00:00:00Z", "ProcessGuid", "{P}", "Image", "C:\\a.exe", "TargetFilename",
			       "C:\\Users\\u\\AppData\\Roaming\\k.exe", NULL);
	struct vg_event *r = S(13, "2020-01-01T00:00:01Z", "EventType", "SetValue", "ProcessGuid", "{P}", "Image", "C:\\a.exe",
			       "TargetObject", "HKU\\S-1\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\k", "Details",
			       "C:\\Users\\u\\AppData\\Roaming\\k.exe", NULL);
	struct vg_event *n1 = S(3, "2020-01-01T00:00:02Z", "ProcessGuid", "{P}", "DestinationIp", "10.0.0.2", "DestinationPort", "53", NULL);
	struct vg_event *n2 = S(3, "2020-01-01T00:00:02Z", "ProcessGuid", "{P}", "DestinationIp", "198.51.100.7", "DestinationPort", "53", NULL);
	struct vg_event *q = S(22, "2020-01-01T00:00:03Z", "ProcessGuid", "{P}", "QueryName", "Some.Name.BIT", NULL);
	feed(t, w);
	feed(t, r);
	feed(t, n1);
	feed(t, n2);
	feed(t, q);
	ASSERT_STR_EQ(vg_event_get(r, "VigilPersistKind"), "run_key");
	ASSERT_STR_EQ(vg_event_get(r, "VigilPersistTargetPathClass"), "appdata");
	ASSERT_STR_EQ(vg_event_get(r, "VigilPersistTargetUserWritable"), "true");
	ASSERT_STR_EQ(vg_event_get(r, "VigilPersistTargetDropped"), "true");
	ASSERT_STR_EQ(vg_event_get(n1, "VigilDnsResolverKnown"), "true");
	ASSERT_STR_EQ(vg_event_get(n2, "VigilDnsResolverKnown"), "false");
	ASSERT_STR_EQ(vg_event_get(q, "VigilQueryTld"), "bit");
	vg_event_free(w);
	vg_event_free(r);
	vg_event_free(n1);
	vg_event_free(n2);
	vg_event_free(q);
	vg_tree_free(t);
}

TEST(tree_idle_running_processes_are_dropped)
{
	struct vg_tree_config cfg = { .idle_ns = 600LL * 1000000000LL };
	struct vg_tree *t;
	ASSERT_EQ(vg_tree_new(&cfg, &t), 0);
	struct vg_event *a = start("2020-01-01 00:00:00.000", "{Q}", "7", "C:\\q.exe", "{P}", "1", "C:\\p.exe");
	struct vg_event *b = start("2020-01-01 00:05:00.000", "{R}", "8", "C:\\r.exe", "{P}", "1", "C:\\p.exe");
	struct vg_event *c = S(3, "2020-01-01T00:30:00Z", "UtcTime", "2020-01-01 00:30:00.000", "ProcessGuid", "{R}", NULL);
	feed(t, a);
	feed(t, b);
	feed(t, c);
	/* Q never exited and said nothing for 30 min (> 10 min idle): gone; R spoke: kept */
	ASSERT_NULL(vg_tree_get(t, "{Q}"));
	ASSERT_TRUE(vg_tree_get(t, "{R}") != NULL);
	ASSERT_GE(vg_tree_stats(t)->evicted_idle, 1);
	vg_event_free(a);
	vg_event_free(b);
	vg_event_free(c);
	vg_tree_free(t);
}
