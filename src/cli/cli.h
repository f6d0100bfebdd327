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

/* `vigil monitor`: the eBPF sensor's events as vg_event JSON lines. Returns the exit status. */
int vg_cli_monitor(int argc, char **argv);

#endif /* VIGIL_CLI_H */
