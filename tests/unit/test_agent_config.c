/* test_agent_config.c - vigild's configuration file: defaults, every kind of setting, errors with file and line, the sample file round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "vigil/agent.h"
#include "vigil/buf.h"

static char *write_temp(const char *text)
{
	static char path[64];
	strcpy(path, "/tmp/vigil-conf-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

TEST(agent_config_defaults)
{
	struct vg_agent_config c;
	ASSERT_EQ(vg_agent_config_defaults(&c), 0);
	ASSERT_EQ(c.mode, VG_AGENT_PROTECT);
	ASSERT_STR_EQ(c.alert_log, "/var/log/vigil/alerts.jsonl");
	ASSERT_STR_EQ(c.socket_path, "/run/vigil/vigild.sock");
	ASSERT_EQ(c.ringbuf_mb, 8);
	ASSERT_EQ(c.min_level, VG_LEVEL_LOW);
	ASSERT_EQ(c.nrules, 0);
	ASSERT_NULL(c.cloud_url);
	ASSERT_NULL(c.hold_mounts); /* the exec hold is off until asked for */
	ASSERT_EQ(c.hold_budget_ms, 50);
	ASSERT_EQ(c.hold_extended_ms, 0);
	ASSERT_EQ(c.hold_fail_closed, 0);
	ASSERT_EQ(c.hold_ldso, 1);
	vg_agent_config_free(&c);
}

TEST(agent_config_file)
{
	struct vg_agent_config c;
	char err[256];
	char *p = write_temp("# comment\n\nmode audit\nrules /a/b\nrules \"/with space/r.yml\"\n"
			     "ringbuf_mb 16   \nmin_level high\nalert_log -\nlog_level debug\n");
	ASSERT_TRUE(p != NULL);
	vg_agent_config_defaults(&c);
	ASSERT_EQ(vg_agent_config_load(&c, p, err, sizeof(err)), 0);
	ASSERT_EQ(c.mode, VG_AGENT_AUDIT);
	ASSERT_EQ(c.nrules, 2);
	ASSERT_STR_EQ(c.rules[1], "/with space/r.yml");
	ASSERT_EQ(c.ringbuf_mb, 16);
	ASSERT_EQ(c.min_level, VG_LEVEL_HIGH);
	ASSERT_STR_EQ(c.alert_log, "-");
	ASSERT_EQ(c.log_level, VG_LOG_DEBUG);
	vg_agent_config_free(&c);
	unlink(p);
}

TEST(agent_config_errors_name_file_and_line)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "mode audit\nbogus 1\n", ":2: unknown setting 'bogus'" },
		{ "ringbuf_mb 0\n", ":1: ringbuf_mb: '0' is not a number from 1 to 1024" },
		{ "\n\nringbuf_mb 12x\n", ":3: ringbuf_mb: '12x'" },
		{ "mode block\n", ":1: mode: 'block' is not protect or audit" },
		{ "min_level severe\n", ":1: min_level: 'severe'" },
		{ "proc_idle -5\n", ":1: proc_idle: '-5'" },
		{ "hold_mounts /\n", ":1: hold_mounts: '/' is not 'auto' or absolute mount points other than '/'" },
		{ "hold_mounts /tmp,tmp\n", ":1: hold_mounts: 'tmp'" },
		{ "hold_fail maybe\n", ":1: hold_fail: 'maybe' is not open or closed" },
		{ "hold_budget_ms 0\n", ":1: hold_budget_ms: '0' is not a number from 1 to 60000" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct vg_agent_config c;
		char err[256] = "";
		char *p = write_temp(cases[i].text);
		ASSERT_TRUE(p != NULL);
		vg_agent_config_defaults(&c);
		ASSERT_EQ(vg_agent_config_load(&c, p, err, sizeof(err)), VG_EINVAL);
		if (!strstr(err, cases[i].want) || strncmp(err, p, strlen(p)) != 0) {
			vg_agent_config_free(&c);
			unlink(p);
			VG_FAIL_("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].want);
		}
		vg_agent_config_free(&c);
		unlink(p);
	}
	struct vg_agent_config c;
	char err[256];
	vg_agent_config_defaults(&c);
	ASSERT_TRUE(vg_agent_config_load(&c, "/nonexistent/vigild.conf", err, sizeof(err)) < 0);
	ASSERT_TRUE(strstr(err, "/nonexistent/vigild.conf") != NULL);
	vg_agent_config_free(&c);
}

/* The sample lists every setting with its default: uncommented, it loads to the defaults. */
TEST(agent_config_sample_round_trip)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	vg_agent_config_write_sample(m);
	fclose(m);
	ASSERT_TRUE(strstr(text, "#ringbuf_mb 8\n") != NULL);
	/* uncomment "#key value" lines (settings, not prose: no space after '#') */
	char *un = malloc(len + 1);
	size_t o = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (line[0] == '#' && line[1] != ' ' && line[1] != '\n' && memchr(line, ' ', n))
			memcpy(un + o, line + 1, n - 1), o += n - 1;
		line += n;
	}
	un[o] = '\0';
	char *p = write_temp(un);
	struct vg_agent_config a, b;
	char err[256];
	vg_agent_config_defaults(&a);
	vg_agent_config_defaults(&b);
	int rc = vg_agent_config_load(&b, p, err, sizeof(err));
	struct vg_buf ja = { 0 }, jb = { 0 };
	vg_agent_config_write_json(&a, &ja);
	vg_agent_config_write_json(&b, &jb);
	vg_buf_put(&ja, "", 1);
	vg_buf_put(&jb, "", 1);
	int same = strcmp(ja.p, jb.p) == 0;
	vg_agent_config_free(&a);
	vg_agent_config_free(&b);
	vg_buf_free(&ja);
	vg_buf_free(&jb);
	unlink(p);
	free(un);
	free(text);
	ASSERT_EQ(rc, 0);
	ASSERT_TRUE(same);
}

/* etc/vigild.conf in the repository is the generated sample, so docs and code cannot drift. */
TEST(agent_config_committed_sample_is_current)
{
	char *text = NULL, *file = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	vg_agent_config_write_sample(m);
	fclose(m);
	FILE *f = fopen(VIGIL_SOURCE_DIR "/etc/vigild.conf", "r");
	ASSERT_TRUE(f != NULL);
	file = calloc(1, 65536);
	size_t n = fread(file, 1, 65535, f);
	fclose(f);
	int same = n == len && memcmp(file, text, len) == 0;
	free(file);
	free(text);
	if (!same)
		VG_FAIL_("etc/vigild.conf differs from `vigild --sample-config`: regenerate it");
}
