/* persist_scan.h - finds the programs a Linux persistence file (crontab, systemd unit, shell rc, autostart entry, ld.so.preload) makes start. */
#ifndef VIGIL_PERSIST_SCAN_H
#define VIGIL_PERSIST_SCAN_H

#include <stddef.h>

#include "vigil/event.h"

/* Called for each program path found, in file order; path is NUL-terminated and only valid during the call. */
typedef void (*vg_persist_target_fn)(const char *path, void *ctx);

/*
 * Scans the text of a persistence file of the given kind for the programs
 * it starts: cron lines (after the schedule, and the user field of system
 * crontabs when system_cron), systemd Exec*= lines, desktop Exec= lines,
 * every command line of a shell rc file, every entry of ld.so.preload.
 * Comments are skipped. Absolute paths are reported as they are; "~/",
 * "$HOME/" and "${HOME}/" are expanded with home when it is not NULL.
 * Reads at most len bytes, no I/O. Returns the number of paths reported.
 */
size_t vg_persist_scan(enum vg_persist_kind kind, int system_cron, const char *text, size_t len,
		       const char *home, vg_persist_target_fn fn, void *ctx);

#endif /* VIGIL_PERSIST_SCAN_H */
