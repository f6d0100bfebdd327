/* cloud_server.c - starts the real build/vigil-cloud for end-to-end tests (test_cloud_api.c, test_cloud_client.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "cloud_server.h"

int vg_test_cloud_spawn(const char *conf, const char *db, pid_t *pid, int *port)
{
	return vg_test_cloud_spawn_at(conf, db, "127.0.0.1:0", pid, port);
}

int vg_test_cloud_spawn_at(const char *conf, const char *db, const char *listen, pid_t *pid, int *port)
{
	char bin[512], line[256];
	int fds[2];
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/vigil-cloud", vg_test_build_dir());
	if (pipe(fds))
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		/* a test that fails part-way returns before stopping it: it ends with the test run, never
		   outliving it holding the caller's stderr open */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "-c", conf, "-l", listen, "-d", db, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	*port = 0;
	if (f && fgets(line, sizeof(line), f)) {
		const char *c = strrchr(line, ':');
		if (strstr(line, "listening on") && c)
			*port = atoi(c + 1);
	}
	if (f)
		fclose(f);
	if (!*port) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		return -1;
	}
	return 0;
}
