/* vigild.c - the Vigil endpoint agent: command line, configuration, daemon life cycle (the live pipeline is in src/agent/). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/agent.h"
#include "vigil/response.h"
#include "vigil/sensor.h"

static const char usage[] =
	"usage: vigild [--config FILE] [--foreground] [--check-config] [--sample-config]\n"
	"\n"
	"The Vigil endpoint agent: watches this machine with eBPF, runs the Sigma rules,\n"
	"writes alerts and takes the actions its policy sets. Runs as root.\n"
	"\n"
	"  -c, --config FILE    configuration (default /etc/vigil/vigild.conf; missing = defaults)\n"
	"  -f, --foreground     stay in the foreground (systemd runs it so)\n"
	"      --check-config   read the configuration, report the first error, exit\n"
	"      --sample-config  print a commented configuration with every default\n"
	"      --replay FILE    read recorded events from FILE instead of the eBPF sensor\n"
	"                       and stop at its end (tests, demos)\n"
	"      --record FILE    append every event with its live host facts to FILE\n"
	"                       (the record setting; `vigil corpus` reads it)\n"
	"  -h, --help           this text\n"
	"\n"
	"Signals: HUP reloads configuration, rules and policy; TERM/INT stop cleanly.\n"
	"See docs/agent.md.\n";

static const char *replay;

static int open_replay(const struct vg_agent_config *cfg, struct vg_agent_source *src, char *err, size_t errlen)
{
	(void)cfg;
	return vg_agent_replay_open(replay, src, err, errlen);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'c' },
		{ "foreground", no_argument, 0, 'f' },
		{ "check-config", no_argument, 0, 'C' },
		{ "sample-config", no_argument, 0, 'S' },
		{ "replay", required_argument, 0, 'R' },
		{ "record", required_argument, 0, 'W' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *config = "/etc/vigil/vigild.conf";
	int explicit_config = 0, check = 0, c;
	const char *replay_path = NULL, *record_path = NULL;
	struct vg_agent_config cfg;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; explicit_config = 1; break;
		case 'f': break;
		case 'C': check = 1; break;
		case 'R': replay_path = optarg; break;
		case 'W': record_path = optarg; break;
		case 'S': vg_agent_config_write_sample(stdout); return 0;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (vg_agent_config_defaults(&cfg)) {
		fprintf(stderr, "vigild: out of memory\n");
		return 1;
	}
	int rc = vg_agent_config_load(&cfg, config, err, sizeof(err));
	if (rc && (rc != -2 /* -ENOENT */ || explicit_config)) {
		fprintf(stderr, "vigild: %s\n", err);
		vg_agent_config_free(&cfg);
		return 1;
	}
	if (check && cfg.policy) {
		/* the response policy is part of the configuration: report its first error too */
		struct vg_policy *pol = NULL;
		char perr[512];
		int prc = vg_policy_load(cfg.policy, &pol, perr, sizeof(perr));
		vg_policy_free(pol);
		if (prc && prc != -ENOENT) {
			fprintf(stderr, "vigild: %s\n", perr);
			vg_agent_config_free(&cfg);
			return 1;
		}
	}
	if (check) {
		printf("vigild: %s: OK\n", rc ? "defaults (no configuration file)" : config);
		vg_agent_config_free(&cfg);
		return 0;
	}
	if (record_path) { /* the command line wins over the configuration's record setting */
		free(cfg.record);
		cfg.record = strdup(record_path);
		if (!cfg.record) {
			fprintf(stderr, "vigild: out of memory\n");
			vg_agent_config_free(&cfg);
			return 1;
		}
	}
	replay = replay_path;
	if (replay)
		cfg.mode = VG_AGENT_AUDIT; /* recorded pids are not this machine's processes: say, never act */
	rc = vg_agent_run(&cfg, config, replay ? open_replay : vg_sensor_source_open);
	vg_agent_config_free(&cfg);
	return rc ? 1 : 0;
}
