/* embedded.h - files compiled into the binaries: the project's Sigma rules and the system binary table, so `vigil hunt` works with no installed data. */
#ifndef VIGIL_EMBEDDED_H
#define VIGIL_EMBEDDED_H

#include <stddef.h>

struct vg_embedded_file {
	const char *name; /* path relative to the repository, e.g. "rules/windows/x.yml" */
	const char *data; /* NUL-terminated contents */
	size_t len;
};

extern const struct vg_embedded_file vg_embedded_rules[];
extern const size_t vg_embedded_rules_count;
extern const char vg_embedded_sysbins[]; /* rules/data/windows-system-binaries.tsv */
extern const char vg_embedded_model[];   /* models/vigil-model.bundle: vigil-cloud's default models */
extern const size_t vg_embedded_model_len;

#endif /* VIGIL_EMBEDDED_H */
