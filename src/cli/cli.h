/* cli.h - the subcommands of the vigil program that live in their own files. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

struct vg_ruleset;

/*
 * `vigil rules test`: for every info.yml under dirs (default tests/data/rules),
 * runs the named rule's samples (<id>.json, <id>.evtx beside it) through the
 * pipeline with the whole ruleset rs. Prints failures (every case when verbose)
 * and a summary. Returns 0 when all pass, 1 when some fail, 2 on error.
 */
int vg_cli_rules_test(struct vg_ruleset *rs, char **dirs, int ndirs, const char *resolvers, int verbose);

/* `vigil status`: prints the running vigild's state. Returns the exit status. */
int vg_cli_status(int argc, char **argv);

/* `vigil quarantine list|restore ID|purge`: vigild's quarantine store. Returns the exit status. */
int vg_cli_quarantine(int argc, char **argv);
/*
 * `vigil rules hits`: runs every case under case_dirs (default SigmaHQ's
 * regression_data and tests/data/rules; info.yml + <id>.evtx or <id>.json) and
 * the benign inputs through the pipeline with rs, counts alerts per rule on
 * its own case, on other cases and on benign input, and writes the TSV
 * (to write, "-" or, with neither write nor expect, stdout) and/or compares it
 * with expect. Returns 0, 1 when counts differ from expect, 2 on error.
 */
int vg_cli_rules_hits(struct vg_ruleset *rs, char **case_dirs, int ndirs, char **benign, int nbenign,
		      const char *resolvers, const char *expect, const char *write, int verbose);

/* One row of a rule-hits TSV; own is -1 for "-" (no case). Strings point into the parsed text. */
struct vg_hits_row {
	const char *id, *title;
	long own, other, benign;
};
struct vg_hits_table {
	struct vg_hits_row *rows;
	size_t n, cap;
};
/* Parses a rule-hits TSV in place (text is modified). 0, or -1 with "file:line: reason" on stderr. */
int vg_cli_hits_parse(const char *file, char *text, struct vg_hits_table *t);
/* `vigil linux-facts PATH...`: host facts of files as JSON lines (docs/linux-host.md). Returns the exit status. */
int vg_cli_linux_facts(int argc, char **argv);
/* `vigil monitor`: the eBPF sensor's events as vg_event JSON lines. Returns the exit status. */
int vg_cli_monitor(int argc, char **argv);
/* `vigil corpus`: labelled signals from recordings for `vigil train` (docs/corpus.md). Returns the exit status. */
int vg_cli_corpus(int argc, char **argv);

/* `vigil up`: vigil-cloud and vigild wired together in the foreground, with the start-up demo. Returns the exit status. */
int vg_cli_up(int argc, char **argv);

/* Reads the rule id named under rule_metadata in an info.yml (SigmaHQ's regression layout). Returns 0 or -1. */
int vg_cli_info_rule_id(const char *info, char *id, size_t size);

/* `vigil train CORPUS...`: trains the cloud's models and writes the bundle (docs/ml.md). Returns the exit status. */
int vg_cli_train(int argc, char **argv);

#endif /* VIGIL_CLI_H */
