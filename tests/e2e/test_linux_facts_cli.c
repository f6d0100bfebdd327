/* test_linux_facts_cli.c - `vigil linux-facts` on this machine: a packaged, verified bash; a copy in /tmp; a missing file named in the error. */
#include <stdlib.h>
#include <unistd.h>

#include "../unit/test.h"

TEST(e2e_linux_facts_command)
{
	char cmd[512], dir[] = "/tmp/vgtest-cli-XXXXXX";
	char *out = NULL;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/bash %s/bash && %s/vigil linux-facts /usr/bin/bash %s/bash 2>&1",
		 dir, vg_test_build_dir(), dir);
	ASSERT_EQ(vg_test_run(cmd, &out), 0);
	ASSERT_TRUE(strstr(out, "{\"path\":\"/usr/bin/bash\",\"class\":\"system\",\"user_writable\":false,"
				"\"package\":\"bash\"") != NULL);
	ASSERT_TRUE(strstr(out, "\"verified\":true") != NULL);
	ASSERT_TRUE(strstr(out, "\"class\":\"temp\",\"user_writable\":true,\"sha256\"") != NULL); /* the copy: no package */
	ASSERT_TRUE(strstr(out, "\"linkage\":\"pie\"") != NULL);
	free(out);
	out = NULL;
	snprintf(cmd, sizeof(cmd), "%s/vigil linux-facts %s/missing 2>&1", vg_test_build_dir(), dir);
	ASSERT_EQ(vg_test_run(cmd, &out), 2);
	ASSERT_TRUE(strstr(out, "/missing: No such file or directory") != NULL);
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_EQ(system(cmd), 0);
}
