/* sim_driver.c - drives build/tools/vigil_sim from a C test (see sim_driver.h): process plumbing, line lookup and namespace checks. */
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "sim_driver.h"
#include "vigil/json.h"

const char *vg_sim_get(const char *line, const char *path, char *out, size_t len)
{
	struct vg_json_doc doc;
	struct vg_json_error err;
	out[0] = '\0';
	if (!line)
		return out;
	vg_json_doc_init(&doc);
	if (vg_json_flatten(&doc, line, strlen(line), &err) == 0)
		for (uint32_t i = 0; i < doc.nleaves; i++)
			if (strcmp(doc.leaves[i].path, path) == 0) {
				snprintf(out, len, "%s", doc.leaves[i].value);
				break;
			}
	vg_json_doc_free(&doc);
	return out;
}

/* Reads lines; stops after a "holding" line when until_holding. */
static void read_lines(struct vg_sim *s, int until_holding)
{
	char *line = NULL;
	size_t cap = 0;
	while (s->out && s->n < VG_SIM_MAX_LINES && getline(&line, &cap, s->out) > 0) {
		s->lines[s->n++] = strdup(line);
		if (s->ns_fd < 0 && strstr(line, "\"event\":\"ready\"")) {
			/* hold the namespace: it outlives the simulator if the agent kills it */
			char pid[32], path[64];
			vg_sim_get(line, "pid", pid, sizeof(pid));
			snprintf(path, sizeof(path), "/proc/%s/ns/mnt", pid);
			s->ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (until_holding && strstr(line, "\"event\":\"holding\""))
			break;
	}
	free(line);
}

const char *vg_sim_binary;

int vg_sim_start(struct vg_sim *s, const char *const *args)
{
	int in[2], out[2];
	char bin[512];
	const char *argv[32];
	int k = 0;

	memset(s, 0, sizeof(*s));
	s->in_fd = -1;
	s->ns_fd = -1;
	if (vg_sim_binary)
		snprintf(bin, sizeof(bin), "%s", vg_sim_binary);
	else
		snprintf(bin, sizeof(bin), "%s/tools/vigil_sim", vg_test_build_dir());
	argv[k++] = bin;
	while (*args && k < 31)
		argv[k++] = *args++;
	argv[k] = NULL;
	if (pipe(in) < 0)
		return -1;
	if (pipe(out) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	s->pid = fork();
	if (s->pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execv(bin, (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->in_fd = in[1];
	s->out = fdopen(out[0], "r");
	read_lines(s, 1);
	return 0;
}

void vg_sim_read_rest(struct vg_sim *s)
{
	read_lines(s, 0);
}

int vg_sim_finish(struct vg_sim *s)
{
	int st = -1;
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
	read_lines(s, 0);
	if (s->out)
		fclose(s->out);
	s->out = NULL;
	if (s->pid <= 0 || waitpid(s->pid, &st, 0) != s->pid)
		return -1;
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void vg_sim_free(struct vg_sim *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		vg_sim_finish(s);
	}
	for (int i = 0; i < s->n; i++)
		free(s->lines[i]);
	s->n = 0;
	if (s->ns_fd >= 0)
		close(s->ns_fd);
	s->ns_fd = -1;
}

const char *vg_sim_line(const struct vg_sim *s, const char *stage, const char *event, int nth)
{
	char a[64], b[64];
	for (int i = 0; i < s->n; i++)
		if (strcmp(vg_sim_get(s->lines[i], "stage", a, sizeof(a)), stage) == 0 &&
		    strcmp(vg_sim_get(s->lines[i], "event", b, sizeof(b)), event) == 0 && nth-- == 0)
			return s->lines[i];
	return NULL;
}

void vg_sim_dump(const struct vg_sim *s)
{
	for (int i = 0; i < s->n; i++)
		fprintf(stderr, "      %s", s->lines[i]);
}

int vg_sim_procs_in_ns(const char *ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	char p[300], link[64];
	while (d && (e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
			snprintf(p, sizeof(p), "/proc/%s/ns/mnt", e->d_name);
			ssize_t l = readlink(p, link, sizeof(link) - 1);
			if (l > 0) {
				link[l] = '\0';
				n += strcmp(link, ns) == 0;
			}
		}
	if (d)
		closedir(d);
	return n;
}
