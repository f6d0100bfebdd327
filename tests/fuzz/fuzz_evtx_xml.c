/* fuzz_evtx_xml.c - libFuzzer harness for the event-XML to vg_winrec parser (the part of the EVTX reader that is ours). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/evtx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results go here so the reads of every slice are not optimised away. */
static volatile unsigned sink;

static unsigned touch(struct vg_slice s)
{
	unsigned h = 0;

	for (size_t i = 0; s.p && i < s.n; i++)
		h = h * 31 + (unsigned char)s.p[i];
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vg_evtx_xml *x;
	static struct vg_winrec rec;
	const char *why = NULL;
	char *copy;
	int rc;

	/* One state for every input, as the reader uses it. */
	if (!x && vg_evtx_xml_new(&x) != 0)
		return 0;
	/* An exact-size copy, so ASan sees any read past the input. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	rc = vg_evtx_xml_parse(x, copy, size, &rec, &why);
	if (rc == 0) {
		sink += touch(rec.provider) + touch(rec.channel) + touch(rec.computer) +
			touch(rec.time) + touch(rec.user_sid);
		for (size_t i = 0; i < rec.nitems; i++)
			sink += touch(rec.items[i].name) + touch(rec.items[i].value);
	} else {
		if (!why || rc >= 0)
			abort();
		sink += (unsigned)strlen(why);
		if (rec.nitems != 0)
			abort(); /* no half-filled record on failure */
	}
	free(copy);
	return 0;
}
