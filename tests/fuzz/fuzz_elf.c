/* fuzz_elf.c - libFuzzer harness for the ELF summary: any bytes give facts or a clear error that names an offset, never a read outside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/linux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_elf_info info;
	char err[128];
	/* an exact-size copy so ASan sees any read past the end */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	int rc = vg_elf_facts(copy, size, &info, err, sizeof(err));
	if (rc != 0 && (!err[0] || !strstr(err, "offset")))
		abort();
	if (rc == 0 && (info.elf_class != 32 && info.elf_class != 64))
		abort();
	if (rc == 0 && (strlen(info.interpreter) >= sizeof(info.interpreter) || info.entropy < 0 || info.entropy > 8.0001))
		abort();
	free(copy);
	return 0;
}
