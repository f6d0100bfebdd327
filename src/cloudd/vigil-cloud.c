/* vigil-cloud.c - the Vigil cloud protection service program: command line, configuration, start, serve until TERM/INT. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/cloud.h"

static const char usage[] =
	"usage: vigil-cloud [--config FILE] [--listen ADDR:PORT] [--db FILE] [--check-config] [--sample-config]\n"
	"\n"
	"The Vigil cloud protection service: enrolls agents, scores their file signals into\n"
	"verdicts, keeps file reputation, ingests events (its /v1 API and an Elasticsearch\n"
	"_bulk endpoint for Winlogbeat) through the Sigma rules, and stores alerts.\n"
	"\n"
	"  -c, --config FILE    configuration (default /etc/vigil/vigil-cloud.conf; missing = defaults)\n"
	"  -l, --listen A:P     override 'listen' (port 0 picks a free port)\n"
	"  -d, --db FILE        override 'db'\n"
	"      --check-config   read the configuration, report the first error, exit\n"
	"      --sample-config  print a commented configuration with every default\n"
	"  -h, --help           this text\n"
	"\n"
	"On start it prints one line to stdout: \"vigil-cloud: listening on ADDR:PORT\".\n"
	"TERM/INT stop cleanly. See docs/cloud.md and docs/api.md.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },   { "listen", required_argument, 0, 'l' },
		{ "db", required_argument, 0, 'd' },       { "check-config", no_argument, 0, 'C' },
		{ "sample-config", no_argument, 0, 'S' },  { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *config = "/etc/vigil/vigil-cloud.conf", *listen = NULL, *db = NULL;
	int explicit_config = 0, check = 0, c, rc;
	struct vg_cloud_config cfg;
	struct vg_cloud *cloud = NULL;
	struct vg_cloud_server *srv = NULL;

	/*
	 * Signal records are allocated by the HTTP threads and freed by the
	 * store writer: without these, glibc shrinks and regrows the thread
	 * arenas (an mprotect each) many times a second under load.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	char err[512];
	unsigned port = 0;

	while ((c = getopt_long(argc, argv, "c:l:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; explicit_config = 1; break;
		case 'l': listen = optarg; break;
		case 'd': db = optarg; break;
		case 'C': check = 1; break;
		case 'S': {
			struct vg_buf b = { 0 };
			vg_cloud_config_sample(&b);
			fwrite(b.p, 1, b.len, stdout);
			vg_buf_free(&b);
			return 0;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-cloud: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	vg_cloud_config_defaults(&cfg);
	rc = vg_cloud_config_load(&cfg, config, err, sizeof(err));
	if (rc && !(rc == -2 /* ENOENT */ && !explicit_config)) {
		fprintf(stderr, "vigil-cloud: %s\n", err);
		vg_cloud_config_free(&cfg);
		return 1;
	}
	if (listen) {
		free(cfg.listen);
		cfg.listen = strdup(listen);
	}
	if (db) {
		free(cfg.db);
		cfg.db = strdup(db);
	}
	if (check) {
		printf("vigil-cloud: configuration OK\n");
		vg_cloud_config_free(&cfg);
		return 0;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads started below inherit the mask */
	signal(SIGPIPE, SIG_IGN);

	if ((rc = vg_cloud_new(&cfg, &cloud, err, sizeof(err)))) {
		fprintf(stderr, "vigil-cloud: %s\n", err);
		vg_cloud_config_free(&cfg);
		return 1;
	}
	if ((rc = vg_cloud_server_start(cloud, &cfg, &srv, &port))) {
		fprintf(stderr, "vigil-cloud: cannot listen on %s: %s\n", cfg.listen, vg_strerror(rc));
		vg_cloud_free(cloud);
		vg_cloud_config_free(&cfg);
		return 1;
	}
	{
		char host[64];
		const char *colon = strrchr(cfg.listen, ':');
		snprintf(host, sizeof(host), "%.*s", (int)(colon - cfg.listen), cfg.listen);
		printf("vigil-cloud: listening on %s:%u\n", host, port);
		fflush(stdout);
	}
	int sig = 0;
	sigwait(&set, &sig);
	vg_cloud_server_stop(srv);
	vg_cloud_free(cloud);
	vg_cloud_config_free(&cfg);
	return 0;
}
