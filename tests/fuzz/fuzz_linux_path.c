/* fuzz_linux_path.c - libFuzzer harness for the Linux path facts on paths as events carry them: class, persistence kind, kernel-thread names and merged-/usr folding must stay in bounds and agree with each other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[64];
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* events hold NUL-terminated text: the path ends at the first NUL */
	enum vg_linux_path_class c = vg_linux_path_class(s);
	if (strcmp(vg_linux_path_class_name(c), "other") == 0 && c != VG_LPATH_OTHER)
		abort();
	int sys = -1;
	enum vg_persist_kind k = vg_linux_persist_kind(s, &sys);
	if (sys != 0 && sys != 1)
		abort();
	if (k != VG_PERSIST_NONE && s[0] != '/')
		abort();
	(void)vg_linux_kthread_name(s);
	size_t n = vg_linux_usrmerge(s, out, sizeof(out));
	if (n >= sizeof(out) || out[n] != '\0')
		abort();
	free(s);
	return 0;
}
