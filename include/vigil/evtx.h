/* evtx.h - reads Windows EVTX files record by record through libevtx and turns each record's XML into a vg_winrec. */
#ifndef VIGIL_EVTX_H
#define VIGIL_EVTX_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/winrec.h"

struct vg_evtx_reader;

/*
 * Opens an EVTX file. Returns 0, -errno when it cannot be opened, VG_EEVTX
 * when libevtx rejects the file header (reason in vg_evtx_reader_error of a
 * NULL reader is not available: the reason is logged through vg_log).
 */
int vg_evtx_open(const char *path, struct vg_evtx_reader **out);
void vg_evtx_free(struct vg_evtx_reader *r); /* accepts NULL */

/*
 * Reads the next record into rec (slices valid until the next call). Returns
 * 1 for a record, 0 at the end, or a negative error for one record that could
 * not be read or parsed (VG_EEVTX, VG_EPARSE): the reason and position
 * (record index, and recovered or not) are in vg_evtx_reader_error(); call
 * again to continue with the next record. Records libevtx recovers from
 * damaged chunks are read after the regular ones.
 */
int vg_evtx_next(struct vg_evtx_reader *r, struct vg_winrec *rec, uint64_t *position);
const char *vg_evtx_reader_error(const struct vg_evtx_reader *r);
/* Counts: records in the file as libevtx reports them, and recovered ones. */
void vg_evtx_counts(const struct vg_evtx_reader *r, uint64_t *records, uint64_t *recovered);

/*
 * Parses one record's event XML (as libevtx renders it) into rec. The slices
 * point into an internal buffer of the parser state; pass the same state to
 * reuse memory. Returns 0, VG_EPARSE with a reason, or VG_ENOMEM. Fuzzed.
 */
struct vg_evtx_xml;
int vg_evtx_xml_new(struct vg_evtx_xml **out);
void vg_evtx_xml_free(struct vg_evtx_xml *x);
int vg_evtx_xml_parse(struct vg_evtx_xml *x, const char *xml, size_t len,
		      struct vg_winrec *rec, const char **reason);

#endif /* VIGIL_EVTX_H */
