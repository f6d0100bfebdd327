/* quarantine.c - `vigil quarantine list|restore ID|purge [ID|--older-than D]`: the operator's view of vigild's quarantine store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "vigil/agent.h"
#include "vigil/response.h"

static const char usage_quarantine[] =
	"usage: vigil quarantine [--dir DIR | -c CONFIG] list\n"
	"       vigil quarantine [--dir DIR | -c CONFIG] restore ID\n"
	"       vigil quarantine [--dir DIR | -c CONFIG] purge ID | --older-than DURATION\n"
	"\n"
	"The store vigild moves dropped files into (quarantine_dir, default\n"
	"<state_dir>/quarantine from /etc/vigil/vigild.conf). list prints one line per\n"
	"item: id, quarantined time, size, sha256, original path. restore puts the file\n"
	"back with its mode, owner and mtime and refuses to overwrite. DURATION is a\n"
	"number with s, m, h or d (default d), e.g. 30d.\n";

/* "30d", "12h", "90m", "45s", "7" (days) -> ns; -1 when malformed. */
static int64_t parse_duration(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	int64_t unit = 86400;
	if (*end == 's')
		unit = 1;
	else if (*end == 'm')
		unit = 60;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'd' || *end == '\0')
		unit = 86400;
	else
		return -1;
	if (*end && end[1])
		return -1;
	if (v > (unsigned long long)(INT64_MAX / 1000000000LL / unit))
		return -1;
	return (int64_t)v * unit * 1000000000LL;
}

static void print_item(const struct vg_quarantine_meta *m, void *ctx)
{
	char t[40];
	(void)ctx;
	vg_time_format(m->quarantined_ns, t, sizeof(t));
	printf("%-34s %s %10llu %s %s%s\n", m->id, t, (unsigned long long)m->size, m->sha256, m->original_path,
	       m->mount_ns_note ? " (other mount namespace)" : "");
}

int vg_cli_quarantine(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, 0, 'd' },
					      { "config", required_argument, 0, 'c' },
					      { "older-than", required_argument, 0, 'o' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	const char *dir = NULL, *config = NULL, *older = NULL;
	char err[1024], *owned = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+d:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': config = optarg; break;
		case 'o': older = optarg; break;
		case 'h': fputs(usage_quarantine, stdout); return 0;
		default: fputs(usage_quarantine, stderr); return 2;
		}
	}
	/* --older-than may follow the subcommand */
	int rest = optind;
	if (rest >= argc) {
		fputs(usage_quarantine, stderr);
		return 2;
	}
	const char *cmd = argv[rest++];
	const char *arg = NULL;
	for (; rest < argc; rest++) {
		if (strcmp(argv[rest], "--older-than") == 0 && rest + 1 < argc)
			older = argv[++rest];
		else if (strncmp(argv[rest], "--older-than=", 13) == 0)
			older = argv[rest] + 13;
		else if (!arg)
			arg = argv[rest];
		else {
			fprintf(stderr, "vigil: quarantine: unexpected argument '%s'\n%s", argv[rest], usage_quarantine);
			return 2;
		}
	}
	if (!dir) {
		struct vg_agent_config cfg;
		if (vg_agent_config_defaults(&cfg))
			return 2;
		rc = vg_agent_config_load(&cfg, config ? config : "/etc/vigil/vigild.conf", err, sizeof(err));
		if (rc && !(rc == -ENOENT && !config)) {
			fprintf(stderr, "vigil: quarantine: %s\n", err);
			vg_agent_config_free(&cfg);
			return 2;
		}
		if (cfg.quarantine_dir) {
			owned = vg_strdup(cfg.quarantine_dir);
		} else {
			size_t n = strlen(cfg.state_dir) + 16;
			if ((owned = malloc(n)))
				snprintf(owned, n, "%s/quarantine", cfg.state_dir);
		}
		vg_agent_config_free(&cfg);
		if (!owned)
			return 2;
		dir = owned;
	}
	rc = 2;
	if (strcmp(cmd, "list") == 0) {
		int n = vg_quarantine_list(dir, print_item, NULL, err, sizeof(err));
		if (n < 0)
			fprintf(stderr, "vigil: quarantine: %s\n", err);
		else {
			fprintf(stderr, "%d item(s) in %s\n", n, dir);
			rc = 0;
		}
	} else if (strcmp(cmd, "restore") == 0) {
		if (!arg)
			fprintf(stderr, "vigil: quarantine restore: which ID?\n%s", usage_quarantine);
		else if (vg_quarantine_restore(dir, arg, err, sizeof(err)))
			fprintf(stderr, "vigil: quarantine restore %s: %s\n", arg, err);
		else {
			printf("restored %s\n", arg);
			rc = 0;
		}
	} else if (strcmp(cmd, "purge") == 0) {
		int64_t d = older ? parse_duration(older) : 0;
		if ((arg && older) || (!arg && !older))
			fprintf(stderr, "vigil: quarantine purge: give an ID or --older-than DURATION\n%s", usage_quarantine);
		else if (older && d < 0)
			fprintf(stderr, "vigil: quarantine purge: --older-than '%s': not a duration (e.g. 30d, 12h)\n", older);
		else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
			int n = vg_quarantine_purge(dir, arg, now - d, err, sizeof(err));
			if (n < 0)
				fprintf(stderr, "vigil: quarantine purge: %s\n", err);
			else {
				printf("purged %d item(s)\n", n);
				rc = 0;
			}
		}
	} else {
		fprintf(stderr, "vigil: quarantine: unknown subcommand '%s'\n%s", cmd, usage_quarantine);
	}
	free(owned);
	return rc;
}
