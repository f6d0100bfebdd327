/* main.c - the `vigil` command line: hunt through event logs with Sigma rules, convert events, check rules. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/embedded.h"
#include "vigil/hunt.h"
#include "vigil/sigma.h"
#include "engine/sigma_ext.h"
#include "cli.h"

#define VIGIL_VERSION "0.1.0"

static const char usage_main[] =
	"usage: vigil <command> [options]\n"
	"\n"
	"commands:\n"
	"  hunt [options] PATH...     detect threats in event logs (EVTX, evtx_dump JSON, flat JSON,\n"
	"                             Winlogbeat/ECS, vg_event JSON); files or folders\n"
	"  events [options] PATH...   write the normalized, enriched events as vg_event JSON lines\n"
	"  rules check [PATH...]      load rules and report every one that fails, with file, line, reason\n"
	"  rules test [DIR...]        run rules against their regression samples (info.yml layout)\n"
	"  rules hits [options]       hits per rule on its own case, other cases and benign noise (TSV)\n"
	"  status                     state of the running vigild (events, drops, alerts, config)\n"
	"  quarantine list|restore|purge  vigild's quarantine store (files moved away by the response)\n"
	"  linux-facts PATH...        package, verification, hashes, ELF facts of files on this machine\n"
	"  monitor [options]          the eBPF sensor's events as vg_event JSON lines (root)\n"
	"  train [options] CORPUS...  train the cloud's models from labelled signals, write the bundle\n"
	"  corpus [options] MANIFEST  labelled signals from recordings for vigil train\n"
	"  up [options]               vigil-cloud and vigild on this machine, wired together, with a\n"
	"                             demo (Windows scenario, Linux simulator); alerts as they come (root)\n"
	"  version                    print the version\n"
	"\n"
	"Run 'vigil <command> --help' for a command's options. See docs/cli.md.\n";

static const char usage_hunt[] =
	"usage: vigil hunt [--rules PATH]... [--format json|tree] [options] PATH...\n"
	"\n"
	"Reads every input (files, or folders walked recursively for *.evtx, *.json,\n"
	"*.jsonl, *.ndjson), merges them by event time, builds the process tree, runs\n"
	"the Sigma rules and writes alerts grouped into incidents to stdout.\n"
	"\n"
	"  -r, --rules PATH          a rule file or folder; repeatable; default: the project's\n"
	"                            rules compiled into vigil\n"
	"  -f, --format FMT          json (one alert per line, default) or tree (terminal view)\n"
	"      --color WHEN          auto (default), always or never (tree view)\n"
	"      --min-level LEVEL     ignore matches below informational|low|medium|high|critical\n"
	"      --resolvers IPS       comma-separated DNS resolvers considered configured\n"
	"      --reorder-window SEC  how far out of time order inputs may be (default 5)\n"
	"      --horizon SEC         how long exited processes are kept (default 3600)\n"
	"      --max-procs N         hard cap on processes held (default 1000000)\n"
	"      --proc-idle SEC       drop running processes silent this long (default 7200)\n"
	"      --idle SEC            an incident quiet this long is written out (default 600)\n"
	"      --placeholders FILE   YAML map name -> values for the |expand modifier\n"
	"      --corr-max-groups N   correlation rules: groups held per rule (default 10000)\n"
	"  -q, --quiet               no summary on stderr\n"
	"  -v, --verbose             more diagnostics on stderr\n"
	"  -h, --help                this text\n"
	"\n"
	"Exit status: 0 no alert, 1 alerts, 2 errors, 3 alerts and errors.\n";

struct rule_errs {
	unsigned count;
	int quiet;
};

static void on_rule_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct rule_errs *e = ctx;
	e->count++;
	if (!e->quiet)
		fprintf(stderr, "vigil: rule error: %s:%u: %s\n", file, line, reason);
}

static void on_placeholder_error(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct rule_errs *e = ctx;
	e->count++;
	fprintf(stderr, "vigil: %s:%u: %s\n", file, line, reason);
}

/* --placeholders FILE: sets the values before any rule loads. 0 or -1 (reported). */
static int load_placeholders(struct vg_ruleset *rs, const char *file, struct rule_errs *errs)
{
	struct rule_errs perr = { 0, 0 };
	int rc = vg_ruleset_load_placeholders(rs, file, on_placeholder_error, &perr);
	if (rc < 0) {
		if (!perr.count)
			fprintf(stderr, "vigil: --placeholders %s: %s\n", file, vg_strerror(rc));
		errs->count += perr.count ? perr.count : 1;
		return -1;
	}
	return 0;
}

static int load_default_rules(struct vg_ruleset *rs, struct rule_errs *errs)
{
	int total = 0;
	for (size_t i = 0; i < vg_embedded_rules_count; i++) {
		int n = vg_ruleset_load_text(rs, vg_embedded_rules[i].name, vg_embedded_rules[i].data,
					     vg_embedded_rules[i].len, on_rule_error, errs);
		if (n > 0)
			total += n;
	}
	return total;
}

static int parse_level(const char *s, enum vg_level *out)
{
	enum vg_level l = vg_level_from_name(s);
	if (l == VG_LEVEL_UNKNOWN)
		return -1;
	*out = l;
	return 0;
}

static int cmd_hunt(int argc, char **argv, int events_mode)
{
	static const struct option opts[] = {
		{ "rules", required_argument, 0, 'r' },
		{ "format", required_argument, 0, 'f' },
		{ "color", required_argument, 0, 'C' },
		{ "min-level", required_argument, 0, 'L' },
		{ "resolvers", required_argument, 0, 'R' },
		{ "reorder-window", required_argument, 0, 'W' },
		{ "horizon", required_argument, 0, 'H' },
		{ "max-procs", required_argument, 0, 'M' },
		{ "proc-idle", required_argument, 0, 'P' },
		{ "idle", required_argument, 0, 'I' },
		{ "placeholders", required_argument, 0, 'p' },
		{ "corr-max-groups", required_argument, 0, 'G' },
		{ "quiet", no_argument, 0, 'q' },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct vg_hunt_config cfg = { 0 };
	struct vg_hunt_stats st;
	const char *rule_paths[64];
	size_t nrules = 0;
	const char *color = "auto", *placeholders = NULL;
	int quiet = 0, c, rc;
	struct rule_errs errs = { 0, 0 };
	struct vg_ruleset *rs = NULL;

	cfg.alerts.format = VG_ALERT_JSON;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:f:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (nrules == 64) {
				fprintf(stderr, "vigil: too many --rules (64 at most)\n");
				return 2;
			}
			rule_paths[nrules++] = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				cfg.alerts.format = VG_ALERT_JSON;
			else if (strcmp(optarg, "tree") == 0)
				cfg.alerts.format = VG_ALERT_TREE;
			else {
				fprintf(stderr, "vigil: --format: expected json or tree, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'C': color = optarg; break;
		case 'L':
			if (parse_level(optarg, &cfg.min_level)) {
				fprintf(stderr, "vigil: --min-level: unknown level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'R': cfg.tree.resolvers = optarg; break;
		case 'W': cfg.reorder_ns = (int64_t)(atof(optarg) * 1e9); break;
		case 'H': cfg.tree.horizon_ns = (int64_t)(atof(optarg) * 1e9); break;
		case 'M': cfg.tree.max_procs = strtoull(optarg, NULL, 10); break;
		case 'P': cfg.tree.idle_ns = (int64_t)(atof(optarg) * 1e9); break;
		case 'I': cfg.alerts.idle_ns = (int64_t)(atof(optarg) * 1e9); break;
		case 'p': placeholders = optarg; break;
		case 'G': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || v == 0) {
				fprintf(stderr, "vigil: --corr-max-groups: expected a positive number, got '%s'\n", optarg);
				return 2;
			}
			cfg.corr_max_groups = (size_t)v;
			break;
		}
		case 'q': quiet = 1; break;
		case 'v': vg_log_set_level(VG_LOG_DEBUG); break;
		case 'h': fputs(usage_hunt, stdout); return 0;
		default: fputs(usage_hunt, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vigil: %s: no input given\n%s", events_mode ? "events" : "hunt", usage_hunt);
		return 2;
	}
	cfg.inputs = (const char *const *)argv + optind;
	cfg.ninputs = (size_t)(argc - optind);
	cfg.alerts.out = stdout;
	cfg.alerts.color = strcmp(color, "always") == 0 || (strcmp(color, "auto") == 0 && isatty(1));

	if (!events_mode) {
		if (vg_ruleset_new(&rs)) {
			fprintf(stderr, "vigil: out of memory\n");
			return 2;
		}
		int loaded = 0;
		if (placeholders && load_placeholders(rs, placeholders, &errs)) {
			vg_ruleset_free(rs);
			return 2;
		}
		if (nrules == 0)
			loaded = load_default_rules(rs, &errs);
		for (size_t i = 0; i < nrules; i++) {
			int n = vg_ruleset_load_path(rs, rule_paths[i], on_rule_error, &errs);
			if (n < 0) {
				fprintf(stderr, "vigil: %s: %s\n", rule_paths[i], vg_strerror(n));
				errs.count++;
			} else
				loaded += n;
		}
		vg_ruleset_link(rs, on_rule_error, &errs);
		if (!quiet)
			fprintf(stderr, "vigil: %d rules loaded%s\n", loaded, errs.count ? " (some failed, see above)" : "");
		cfg.rules = rs;
	} else {
		cfg.events_out = stdout;
	}

	rc = vg_hunt_run(&cfg, &st);
	fflush(stdout);
	if (!quiet) {
		double eps = st.seconds > 0 ? (double)st.events / st.seconds : 0;
		fprintf(stderr,
			"vigil: %llu files (%llu unreadable), %llu events, %llu alerts in %llu incidents, "
			"%llu errors, %.2f s, %.0f events/s\n",
			(unsigned long long)st.files, (unsigned long long)st.files_failed,
			(unsigned long long)st.events, (unsigned long long)st.alerts,
			(unsigned long long)st.incidents,
			(unsigned long long)(st.errors + st.files_failed + errs.count), st.seconds, eps);
		if (st.skipped)
			fprintf(stderr, "vigil: %llu EVTX records recovered from slack space could not be decoded (skipped; -v lists them)\n",
				(unsigned long long)st.skipped);
		if (st.corr_groups_evicted)
			fprintf(stderr, "vigil: %llu correlation groups evicted at --corr-max-groups (%llu correlation alerts)\n",
				(unsigned long long)st.corr_groups_evicted, (unsigned long long)st.corr_hits);
		if (st.late || st.tree.evicted_cap)
			fprintf(stderr, "vigil: %llu events arrived outside the reorder window; %llu processes evicted at the cap\n",
				(unsigned long long)st.late, (unsigned long long)st.tree.evicted_cap);
	}
	vg_ruleset_free(rs);
	if (rc) {
		fprintf(stderr, "vigil: hunt stopped: %s\n", vg_strerror(rc));
		return 2;
	}
	int have_errors = (st.errors + st.files_failed + errs.count) > 0;
	return (st.alerts ? 1 : 0) | (have_errors ? 2 : 0);
}

static const char usage_rules[] =
	"usage: vigil rules check [PATH...] [--placeholders FILE]\n"
	"       vigil rules test [--rules PATH]... [--placeholders FILE] [--resolvers IPS] [-v] [DIR...]\n"
	"       vigil rules hits [--rules PATH]... [--cases DIR]... [--benign FILE]... [--placeholders FILE]\n"
	"                        [--expect FILE] [--write FILE] [--resolvers IPS] [-v]\n"
	"\n"
	"check: loads rule files or folders (default: the compiled-in rules), reports every\n"
	"       rule that fails with file, line and reason, and counts rules by status and level.\n"
	"test:  for every info.yml under DIR (default tests/data/rules; SigmaHQ's\n"
	"       regression_data layout), runs the rule's <id>.json / <id>.evtx sample through\n"
	"       the pipeline with the whole rule set and checks that the rule fires.\n"
	"hits:  runs every rule (default: SigmaHQ's rules* folders and the compiled-in rules)\n"
	"       against every case (default: SigmaHQ's regression_data and tests/data/rules) and\n"
	"       the --benign inputs; prints per rule: id, title, hits on its own case, on other\n"
	"       cases, on benign input (TSV). --write FILE writes it there; --expect FILE compares\n"
	"       and lists each rule whose counts differ (exit 1). See docs/sigma.md.\n"
	"--placeholders FILE: YAML map name -> list of values for |expand, read before the rules.\n";

static int cmd_rules_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, 0, 'r' },
		{ "resolvers", required_argument, 0, 'R' },
		{ "placeholders", required_argument, 0, 'p' },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct vg_ruleset *rs;
	struct rule_errs errs = { 0, 0 };
	const char *resolvers = NULL, *placeholders = NULL, *paths[64];
	int verbose = 0, nrules = 0, c;

	if (vg_ruleset_new(&rs))
		return 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (nrules == 64) {
				fprintf(stderr, "vigil: too many --rules (64 at most)\n");
				vg_ruleset_free(rs);
				return 2;
			}
			paths[nrules++] = optarg;
			break;
		case 'p': placeholders = optarg; break;
		case 'R': resolvers = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': fputs(usage_rules, stdout); vg_ruleset_free(rs); return 0;
		default: fputs(usage_rules, stderr); vg_ruleset_free(rs); return 2;
		}
	}
	if (placeholders && load_placeholders(rs, placeholders, &errs)) {
		vg_ruleset_free(rs);
		return 2;
	}
	for (int i = 0; i < nrules; i++)
		if (vg_ruleset_load_path(rs, paths[i], on_rule_error, &errs) < 0) {
			fprintf(stderr, "vigil: %s: cannot load rules\n", paths[i]);
			vg_ruleset_free(rs);
			return 2;
		}
	if (!nrules)
		load_default_rules(rs, &errs);
	vg_ruleset_link(rs, on_rule_error, &errs);
	int rc = vg_cli_rules_test(rs, argv + optind, argc - optind, resolvers, verbose);
	vg_ruleset_free(rs);
	return rc;
}

static int cmd_rules_hits(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, 0, 'r' },
		{ "cases", required_argument, 0, 'c' },
		{ "benign", required_argument, 0, 'b' },
		{ "placeholders", required_argument, 0, 'p' },
		{ "expect", required_argument, 0, 'e' },
		{ "write", required_argument, 0, 'w' },
		{ "resolvers", required_argument, 0, 'R' },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static const char *const def_rules[] = { "../shared/data/sigma/rules", "../shared/data/sigma/rules-emerging-threats",
						 "../shared/data/sigma/rules-threat-hunting" };
	char *paths[64], *cases[64], *benign[64];
	int npaths = 0, ncases = 0, nbenign = 0, verbose = 0, c;
	const char *placeholders = NULL, *expect = NULL, *write = NULL, *resolvers = NULL;
	struct rule_errs errs = { 0, 1 };
	struct vg_ruleset *rs;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:vh", opts, NULL)) != -1) {
		char **list = NULL;
		int *n = NULL;
		switch (c) {
		case 'r': list = paths; n = &npaths; break;
		case 'c': list = cases; n = &ncases; break;
		case 'b': list = benign; n = &nbenign; break;
		case 'p': placeholders = optarg; break;
		case 'e': expect = optarg; break;
		case 'w': write = optarg; break;
		case 'R': resolvers = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': fputs(usage_rules, stdout); return 0;
		default: fputs(usage_rules, stderr); return 2;
		}
		if (list) {
			if (*n == 64) {
				fprintf(stderr, "vigil: rules hits: too many values for one option (64 at most)\n");
				return 2;
			}
			list[(*n)++] = optarg;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil: rules hits: unexpected argument '%s'\n%s", argv[optind], usage_rules);
		return 2;
	}
	if (vg_ruleset_new(&rs))
		return 2;
	errs.quiet = !verbose;
	if (placeholders && load_placeholders(rs, placeholders, &errs)) {
		vg_ruleset_free(rs);
		return 2;
	}
	if (npaths == 0) {
		for (size_t i = 0; i < 3; i++)
			if (vg_ruleset_load_path(rs, def_rules[i], on_rule_error, &errs) < 0) {
				fprintf(stderr, "vigil: rules hits: cannot load %s\n", def_rules[i]);
				vg_ruleset_free(rs);
				return 2;
			}
		load_default_rules(rs, &errs);
	}
	for (int i = 0; i < npaths; i++)
		if (vg_ruleset_load_path(rs, paths[i], on_rule_error, &errs) < 0) {
			fprintf(stderr, "vigil: rules hits: cannot load %s\n", paths[i]);
			vg_ruleset_free(rs);
			return 2;
		}
	vg_ruleset_link(rs, on_rule_error, &errs);
	if (errs.count)
		fprintf(stderr, "vigil: rules hits: %u rules failed to load (vigil rules check lists them)\n", errs.count);
	int rc = vg_cli_rules_hits(rs, cases, ncases, benign, nbenign, resolvers, expect, write, verbose);
	vg_ruleset_free(rs);
	return rc;
}

static int cmd_rules(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_rules, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "test") == 0)
		return cmd_rules_test(argc - 1, argv + 1);
	if (strcmp(argv[1], "hits") == 0)
		return cmd_rules_hits(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "vigil: rules: unknown subcommand '%s'\n%s", argv[1], usage_rules);
		return 2;
	}
	struct vg_ruleset *rs;
	struct rule_errs errs = { 0, 0 };
	int loaded = 0;

	if (vg_ruleset_new(&rs))
		return 2;
	/* --placeholders FILE (or =FILE) may stand anywhere; everything else is a rule path */
	char **paths = calloc((size_t)argc, sizeof(*paths));
	int npaths = 0;
	if (!paths) {
		vg_ruleset_free(rs);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strncmp(argv[i], "--placeholders", 14) != 0 || (argv[i][14] && argv[i][14] != '=')) {
			paths[npaths++] = argv[i];
			continue;
		}
		const char *file = argv[i][14] == '=' ? argv[i] + 15 : i + 1 < argc ? argv[++i] : NULL;
		if (!file || !*file) {
			fprintf(stderr, "vigil: rules check: --placeholders needs a FILE\n%s", usage_rules);
			free(paths);
			vg_ruleset_free(rs);
			return 2;
		}
		if (load_placeholders(rs, file, &errs)) {
			free(paths);
			vg_ruleset_free(rs);
			return 2;
		}
	}
	if (npaths == 0)
		loaded = load_default_rules(rs, &errs);
	for (int k = 0; k < npaths; k++) {
		int n = vg_ruleset_load_path(rs, paths[k], on_rule_error, &errs);
		if (n < 0) {
			fprintf(stderr, "vigil: %s: %s\n", paths[k], vg_strerror(n));
			errs.count++;
		} else
			loaded += n;
	}
	free(paths);
	vg_ruleset_link(rs, on_rule_error, &errs);
	/* counts by status and level */
	const char *statuses[] = { "stable", "test", "experimental", "deprecated", "unsupported" };
	size_t by_status[6] = { 0 }, by_level[6] = { 0 };
	for (size_t i = 0; i < vg_ruleset_count(rs); i++) {
		const struct vg_rule *r = vg_ruleset_rule(rs, i);
		size_t s = 5;
		for (size_t k = 0; k < 5; k++)
			if (r->status && strcmp(r->status, statuses[k]) == 0)
				s = k;
		by_status[s]++;
		if ((unsigned)r->level < 6)
			by_level[r->level]++;
	}
	printf("loaded: %d\nfailed: %u\n", loaded, errs.count);
	printf("load rate: %.2f%%\n", loaded + errs.count ? 100.0 * loaded / (loaded + errs.count) : 100.0);
	size_t ncorr = 0;
	for (size_t i = 0; i < vg_ruleset_correlation_count(rs); i++)
		ncorr += vg_ruleset_correlation(rs, i)->linked == 1;
	printf("correlations: %zu\n", ncorr); /* linked ones; the others are counted in failed */
	for (size_t k = 0; k < 5; k++)
		printf("status %-13s %zu\n", statuses[k], by_status[k]);
	printf("status %-13s %zu\n", "(none/other)", by_status[5]);
	for (int l = 0; l < 6; l++)
		printf("level %-14s %zu\n", l ? vg_level_name((enum vg_level)l) : "(none)", by_level[l]);
	vg_ruleset_free(rs);
	return errs.count ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
	}
	if (strcmp(argv[1], "hunt") == 0)
		return cmd_hunt(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "events") == 0)
		return cmd_hunt(argc - 1, argv + 1, 1);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 1, argv + 1);
	if (strcmp(argv[1], "linux-facts") == 0)
		return vg_cli_linux_facts(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return vg_cli_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "quarantine") == 0)
		return vg_cli_quarantine(argc - 1, argv + 1);
	if (strcmp(argv[1], "monitor") == 0)
		return vg_cli_monitor(argc - 1, argv + 1);
	if (strcmp(argv[1], "train") == 0)
		return vg_cli_train(argc - 1, argv + 1);
	if (strcmp(argv[1], "corpus") == 0)
		return vg_cli_corpus(argc - 1, argv + 1);
	if (strcmp(argv[1], "up") == 0)
		return vg_cli_up(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	fprintf(stderr, "vigil: unknown command '%s'\n%s", argv[1], usage_main);
	return 2;
}
