/* cloud_server.c - starts the real build/vigil-cloud for end-to-end tests (test_cloud_api.c, test_cloud_client.c). */
#include <curl/curl.h>
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

struct body_buf {
	char *p;
	size_t len, cap;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct body_buf *b = ctx;
	size_t k = sz * n, room = b->cap - 1 - b->len;
	size_t take = k < room ? k : room;
	memcpy(b->p + b->len, p, take);
	b->len += take;
	b->p[b->len] = 0;
	return k;
}

long vg_test_http(int port, const char *path, const char *auth, const char *body, char *out, size_t outlen)
{
	struct body_buf b = { out, 0, outlen };
	struct curl_slist *hl = NULL;
	char url[512];
	long st = 0;
	CURL *h = curl_easy_init();

	out[0] = 0;
	if (!h)
		return 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (auth)
		hl = curl_slist_append(hl, auth);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return st;
}

int vg_test_enroll(int port, const char *token, const char *id, char *auth, size_t len)
{
	char out[4096], body[256], bearer[256];
	snprintf(body, sizeof(body), "{\"endpoint_id\":\"%s\"}", id);
	snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", token);
	if (vg_test_http(port, "/v1/enroll", bearer, body, out, sizeof(out)) != 200)
		return -1;
	const char *c = strstr(out, "\"credential\":\"");
	if (!c)
		return -1;
	snprintf(auth, len, "Authorization: Bearer %.48s", c + 14);
	return 0;
}
