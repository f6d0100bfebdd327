/* test_fuzz_replay.c - replays every fuzz corpus (past crashes and seeds) through its harness as a regression test. */
#include <dirent.h>
#include <stdlib.h>

#include "test.h"

TEST(fuzz_corpora_replay_cleanly)
{
	char corpus[1024], cmd[4096];
	DIR *d;
	struct dirent *e;
	int harnesses = 0;

	snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus", VIGIL_SOURCE_DIR);
	d = opendir(corpus);
	ASSERT_TRUE(d != NULL);
	while ((e = readdir(d))) {
		char *out = NULL;
		if (e->d_name[0] == '.')
			continue;
		snprintf(cmd, sizeof(cmd), "%s/fuzz/replay_%s '%s/%s' 2>&1", vg_test_build_dir(), e->d_name,
			 corpus, e->d_name);
		int st = vg_test_run(cmd, &out);
		if (st != 0) {
			fprintf(stderr, "    replay of corpus %s failed (status %d):\n%s\n", e->d_name, st,
				out ? out : "");
			free(out);
			closedir(d);
			ASSERT_EQ(st, 0);
		}
		ASSERT_TRUE(strstr(out, "replayed ") != NULL);
		free(out);
		harnesses++;
	}
	closedir(d);
	/* one harness per parser: JSON, EVTX file, EVTX XML, Sigma YAML */
	ASSERT_GE(harnesses, 4);
}
