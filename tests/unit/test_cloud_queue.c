/* test_cloud_queue.c - vigild's on-disk queue of cloud signals: order, delivery across a reopen (a restart), corrupt and cut-short lines skipped with file:line, the size cap; and the cloud settings of vigild.conf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "vigil/agent.h"
#include "vigil/buf.h"
#include "vigil/cloud_client.h"
#include "vigil/proctree.h"
#include "vigil/response.h"

#define SHA1 "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA2 "2222222222222222222222222222222222222222222222222222222222222222"
#define SHA3 "3333333333333333333333333333333333333333333333333333333333333333"
#define SIG(sha) "{\"endpoint_id\":\"ep\",\"file\":{\"sha256\":\"" sha "\",\"path\":\"/tmp/x\"}}"

struct sink {
	char got[8][80];
	int n, stop_after;
	char bad[4][512];
	int nbad;
};

static int take(const char *line, size_t len, uint64_t off, void *ctx)
{
	struct sink *s = ctx;
	if (s->stop_after >= 0 && s->n >= s->stop_after)
		return 1;
	const char *p = strstr(line, "\"sha256\":\"");
	if (s->n < 8 && p)
		snprintf(s->got[s->n], sizeof(s->got[0]), "%.64s", p + 10);
	s->n++;
	return 0;
}

static void bad(const char *name, unsigned line, const char *reason, void *ctx)
{
	struct sink *s = ctx;
	if (s->nbad < 4)
		snprintf(s->bad[s->nbad], sizeof(s->bad[0]), "%s:%u: %s", name, line, reason);
	s->nbad++;
}

static char *tmpdir(void)
{
	static char d[64];
	strcpy(d, "/tmp/vg-unit-cq-XXXXXX");
	return mkdtemp(d);
}

static void rmtree(const char *d)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd))
		fprintf(stderr, "    cannot remove %s\n", d);
}

TEST(cloud_queue_order_and_restart)
{
	char *dir = tmpdir(), err[256];
	struct vg_cloud_queue *q;
	struct sink s = { .stop_after = 1 };
	ASSERT_TRUE(dir != NULL);
	ASSERT_EQ(vg_cloud_queue_open(dir, 1 << 20, &q, err, sizeof(err)), 0);
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA1), strlen(SIG(SHA1)), NULL), 0);
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA2), strlen(SIG(SHA2)), NULL), 0);
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA3), strlen(SIG(SHA3)), NULL), 0);
	ASSERT_EQ(vg_cloud_queue_stats(q)->pending, 3);
	/* the service takes one, then goes away */
	ASSERT_EQ(vg_cloud_queue_deliver(q, take, bad, &s), 1);
	ASSERT_STR_EQ(s.got[0], SHA1);
	ASSERT_EQ(vg_cloud_queue_stats(q)->pending, 2);
	vg_cloud_queue_close(q);
	/* vigild restarts: the two others are still there, oldest first */
	char path[128];
	snprintf(path, sizeof(path), "%s/cloud-queue", dir);
	struct stat st;
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(vg_cloud_queue_open(dir, 1 << 20, &q, err, sizeof(err)), 0);
	ASSERT_EQ(vg_cloud_queue_stats(q)->pending, 2);
	struct sink s2 = { .stop_after = -1 };
	ASSERT_EQ(vg_cloud_queue_deliver(q, take, bad, &s2), 2);
	ASSERT_EQ(s2.n, 2);
	ASSERT_STR_EQ(s2.got[0], SHA2);
	ASSERT_STR_EQ(s2.got[1], SHA3);
	/* all delivered: the file starts over */
	ASSERT_EQ(vg_cloud_queue_stats(q)->pending, 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_size, 0);
	ASSERT_EQ(s2.nbad, 0);
	vg_cloud_queue_close(q);
	rmtree(dir);
}

TEST(cloud_queue_corrupt_lines_named_by_file_and_line)
{
	char *dir = tmpdir(), err[256], path[128];
	ASSERT_TRUE(dir != NULL);
	snprintf(path, sizeof(path), "%s/cloud-queue", dir);
	FILE *f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs(SIG(SHA1) "\n"
		      "{\"file\":{\"sha256\":\"nothex\"}}\n"
		      "{\"file\": [1,\n"
		      "\n" SIG(SHA2) "\n"
		      "{\"endpoint_id\":\"ep\",\"fi",
	      f); /* the last write was cut short */
	fclose(f);
	struct vg_cloud_queue *q;
	ASSERT_EQ(vg_cloud_queue_open(dir, 1 << 20, &q, err, sizeof(err)), 0);
	struct sink s = { .stop_after = -1 };
	ASSERT_EQ(vg_cloud_queue_deliver(q, take, bad, &s), 2);
	ASSERT_EQ(s.n, 2);
	ASSERT_STR_EQ(s.got[0], SHA1);
	ASSERT_STR_EQ(s.got[1], SHA2);
	ASSERT_EQ(s.nbad, 3);
	char want[200];
	snprintf(want, sizeof(want), "%s:2: file.sha256 is not 64 hex digits", path);
	ASSERT_STR_EQ(s.bad[0], want);
	snprintf(want, sizeof(want), "%s:3: malformed JSON at byte ", path);
	ASSERT_TRUE(strncmp(s.bad[1], want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "%s:6: malformed JSON", path);
	ASSERT_TRUE(strncmp(s.bad[2], want, strlen(want)) == 0);
	ASSERT_EQ(vg_cloud_queue_stats(q)->bad_lines, 3);
	/* appending after the cut-short line does not glue onto it */
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA3), strlen(SIG(SHA3)), NULL), 0);
	struct sink s2 = { .stop_after = -1 };
	ASSERT_EQ(vg_cloud_queue_deliver(q, take, bad, &s2), 1);
	ASSERT_STR_EQ(s2.got[0], SHA3);
	ASSERT_EQ(s2.nbad, 0);
	vg_cloud_queue_close(q);
	rmtree(dir);
}

TEST(cloud_queue_cap_drops_and_counts)
{
	char *dir = tmpdir(), err[256];
	struct vg_cloud_queue *q;
	ASSERT_TRUE(dir != NULL);
	size_t one = strlen(SIG(SHA1)) + 1;
	ASSERT_EQ(vg_cloud_queue_open(dir, one * 2, &q, err, sizeof(err)), 0);
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA1), one - 1, NULL), 0);
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA2), one - 1, NULL), 0);
	ASSERT_EQ(vg_cloud_queue_append(q, SIG(SHA3), one - 1, NULL), VG_ELIMIT);
	ASSERT_EQ(vg_cloud_queue_stats(q)->dropped, 1);
	ASSERT_EQ(vg_cloud_queue_stats(q)->pending, 2);
	vg_cloud_queue_close(q);
	rmtree(dir);
}

TEST(cloud_queue_check_line)
{
	char why[256];
	ASSERT_EQ(vg_cloud_queue_check_line(SIG(SHA1), strlen(SIG(SHA1)), why, sizeof(why)), 0);
	ASSERT_EQ(vg_cloud_queue_check_line("[1]", 3, why, sizeof(why)), VG_EPARSE);
	ASSERT_STR_EQ(why, "not a JSON object");
	ASSERT_EQ(vg_cloud_queue_check_line("{\"a\":1}", 7, why, sizeof(why)), VG_EPARSE);
	ASSERT_STR_EQ(why, "no file.sha256");
	ASSERT_EQ(vg_cloud_queue_check_line("{\"a\":", 5, why, sizeof(why)), VG_EPARSE);
	ASSERT_TRUE(strstr(why, "malformed JSON at byte 5") != NULL);
}

TEST(cloud_config_settings)
{
	struct vg_agent_config c;
	char err[256];
	ASSERT_EQ(vg_agent_config_defaults(&c), 0);
	ASSERT_NULL(c.cloud_token);
	ASSERT_EQ(c.cloud_queue_kb, 16384);
	ASSERT_EQ(c.cloud_block_action, VG_ACT_REMEDIATE);
	ASSERT_EQ(vg_agent_config_set(&c, "cloud_block_action", "kill", err, sizeof(err)), 0);
	ASSERT_EQ(c.cloud_block_action, VG_ACT_KILL);
	ASSERT_EQ(vg_agent_config_set(&c, "cloud_block_action", "nuke", err, sizeof(err)), VG_EINVAL);
	ASSERT_TRUE(strstr(err, "cloud_block_action: 'nuke'") != NULL);
	ASSERT_EQ(vg_agent_config_set(&c, "cloud_url", "ftp://x", err, sizeof(err)), VG_EINVAL);
	ASSERT_STR_EQ(err, "cloud_url: 'ftp://x' is not an http:// or https:// URL");
	ASSERT_EQ(vg_agent_config_set(&c, "cloud_token", "s3cret-token", err, sizeof(err)), 0);
	/* the token never shows in `vigil status` */
	struct vg_buf b = { 0 };
	vg_agent_config_write_json(&c, &b);
	vg_buf_put(&b, "", 1);
	ASSERT_TRUE(strstr(b.p, "s3cret") == NULL);
	ASSERT_TRUE(strstr(b.p, "\"cloud_token\":\"(set)\"") != NULL);
	ASSERT_TRUE(strstr(b.p, "\"cloud_block_action\":\"kill\"") != NULL);
	vg_buf_free(&b);
	vg_agent_config_free(&c);
}

static struct vg_event *exec_event(const char *key, const char *image, const char *sha)
{
	struct vg_event *ev = vg_event_new();
	char h[80];
	if (!ev)
		return NULL;
	ev->type = VG_EV_PROCESS_START;
	ev->platform = VG_PLATFORM_LINUX;
	ev->time_ns = 1765000000000000000LL;
	ev->proc.key = vg_event_strdup(ev, key, strlen(key));
	ev->proc.pid = 4242;
	ev->proc.image = vg_event_strdup(ev, image, strlen(image));
	snprintf(h, sizeof(h), "SHA256=%s", sha);
	ev->proc.hashes = vg_event_strdup(ev, h, strlen(h));
	vg_event_add_field(ev, "VigilImageUserWritable", 22, "true", 4);
	vg_event_add_field(ev, "VigilFileEntropy", 16, "7.91", 4);
	vg_event_add_field(ev, "VigilElfType", 12, "exec", 4);
	vg_event_add_field(ev, "VigilElfLinkage", 15, "static", 6);
	return ev;
}

/* The service unreachable: a new user-writable executable's signal is queued on disk, the counters say so, and once is enough. */
TEST(cloud_client_offline_counters)
{
	char *dir = tmpdir(), err[256], url[] = "http://127.0.0.1:1";
	struct vg_agent_config cfg;
	struct vg_cloud_client *c = NULL;
	struct vg_tree *tree = NULL;
	ASSERT_TRUE(dir != NULL);
	ASSERT_EQ(vg_agent_config_defaults(&cfg), 0);
	ASSERT_EQ(vg_agent_config_set(&cfg, "cloud_url", url, err, sizeof(err)), 0);
	ASSERT_EQ(vg_agent_config_set(&cfg, "cloud_token", "t", err, sizeof(err)), 0);
	ASSERT_EQ(vg_agent_config_set(&cfg, "state_dir", dir, err, sizeof(err)), 0);
	ASSERT_EQ(vg_cloud_client_new(&cfg, &c, err, sizeof(err)), 0);
	ASSERT_EQ(vg_tree_new(&(struct vg_tree_config){ 0 }, &tree), 0);
	struct vg_event *ev = exec_event("h:4242:1", "/tmp/.x/miner", SHA1);
	ASSERT_TRUE(ev != NULL);
	vg_tree_update(tree, ev);
	vg_cloud_client_on_event(c, tree, ev, NULL, NULL);
	vg_cloud_client_on_event(c, tree, ev, NULL, NULL); /* sent already, no answer yet: not again */
	ASSERT_EQ(vg_cloud_client_drain(c, 3000, NULL, NULL), 1);
	struct vg_buf b = { 0 };
	int first = 1;
	vg_buf_put(&b, "{", 1);
	vg_cloud_client_write_status(c, &b, &first);
	vg_buf_put(&b, "}", 2);
	int ok = strstr(b.p, "\"sent\":1,") && strstr(b.p, "\"queued\":1,") && strstr(b.p, "\"delivered\":0,") &&
		 strstr(b.p, "\"verdicts\":0,") && strstr(b.p, "\"online\":false") && strstr(b.p, "\"last_error\":\"http://127.0.0.1:1/v1/enroll: ");
	if (!ok)
		fprintf(stderr, "    status: %s\n", b.p);
	vg_buf_free(&b);
	vg_cloud_client_free(c);
	/* what is on disk is the signal, with the file facts */
	char path[128], line[4096] = "";
	snprintf(path, sizeof(path), "%s/cloud-queue", dir);
	FILE *f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(line, sizeof(line), f) != NULL);
	fclose(f);
	vg_event_free(ev);
	vg_tree_free(tree);
	vg_agent_config_free(&cfg);
	rmtree(dir);
	ASSERT_TRUE(ok);
	ASSERT_TRUE(strstr(line, "\"behavior_ids\":[\"vigil.new_user_writable_executable\"]") != NULL);
	ASSERT_TRUE(strstr(line, "\"file\":{\"sha256\":\"" SHA1 "\",\"path\":\"/tmp/.x/miner\",\"name\":\"miner\",\"entropy\":7.91,"
				 "\"package\":null") != NULL);
	ASSERT_TRUE(strstr(line, "\"elf\":{\"type\":\"exec\",\"static\":true,\"packed\":true,\"interpreter\":null}") != NULL);
	ASSERT_TRUE(strstr(line, "\"process_chain\":[{\"pid\":4242,\"image\":\"/tmp/.x/miner\"") != NULL);
}
