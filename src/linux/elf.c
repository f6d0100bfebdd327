/* elf.c - ELF header summary (class, machine, type, interpreter, linkage, sections, stripped, entropy) of a file held in memory, through libelf, with every offset checked. */
#include <gelf.h>
#include <libelf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/common.h"
#include "vigil/linux.h"

double vg_entropy(const uint8_t *data, size_t len)
{
	/* four tables: consecutive equal bytes do not wait on each other's increment */
	uint64_t c[4][256];
	size_t i = 0;
	double h = 0;

	if (!len)
		return 0;
	memset(c, 0, sizeof(c));
	for (; i + 4 <= len; i += 4) {
		c[0][data[i]]++;
		c[1][data[i + 1]]++;
		c[2][data[i + 2]]++;
		c[3][data[i + 3]]++;
	}
	for (; i < len; i++)
		c[0][data[i]]++;
	for (int k = 0; k < 256; k++) {
		uint64_t count = c[0][k] + c[1][k] + c[2][k] + c[3][k];
		if (!count)
			continue;
		double p = (double)count / (double)len;
		h -= p * log2(p);
	}
	return h;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_X86_64: return "x86_64";
	case EM_ARM: return "arm";
	case EM_AARCH64: return "aarch64";
	case EM_MIPS: return "mips";
	case EM_PPC: return "ppc";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	case EM_RISCV: return "riscv";
	case EM_BPF: return "bpf";
	case EM_SPARCV9: return "sparcv9";
	case EM_LOONGARCH: return "loongarch";
	default: return "other";
	}
}

static const char *type_name(unsigned t)
{
	switch (t) {
	case ET_REL: return "rel";
	case ET_EXEC: return "exec";
	case ET_DYN: return "dyn";
	case ET_CORE: return "core";
	default: return "other";
	}
}

#define FAIL(code, ...)                                          \
	do {                                                     \
		if (err && errlen)                               \
			snprintf(err, errlen, __VA_ARGS__);      \
		rc = (code);                                     \
		goto out;                                        \
	} while (0)

/* Does the dynamic section carry DF_1_PIE? (static-pie vs shared object) */
static int dyn_pie(Elf *e, size_t len)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)
			return 0;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			return 0;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n && i < 4096; i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(data, (int)i, &dyn))
				break;
			if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_PIE))
				return 1;
			if (dyn.d_tag == DT_NULL)
				break;
		}
		return 0;
	}
	return 0;
}

int vg_elf_facts(const uint8_t *data, size_t len, struct vg_elf_info *out, char *err, size_t errlen)
{
	static int inited;
	Elf *e = NULL;
	char *copy = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->machine_name = out->type_name = out->linkage = "";
	if (err && errlen)
		err[0] = '\0';
	if (len < 4 || memcmp(data, ELFMAG, SELFMAG) != 0)
		FAIL(VG_EFORMAT, "offset 0: no ELF magic");
	if (len < EI_NIDENT)
		FAIL(VG_ETRUNC, "offset %zu: ELF identification truncated (%d bytes needed)", len, EI_NIDENT);
	if (data[EI_CLASS] != ELFCLASS32 && data[EI_CLASS] != ELFCLASS64)
		FAIL(VG_EPARSE, "offset %d: bad ELF class %u", EI_CLASS, data[EI_CLASS]);
	if (data[EI_DATA] != ELFDATA2LSB && data[EI_DATA] != ELFDATA2MSB)
		FAIL(VG_EPARSE, "offset %d: bad ELF data encoding %u", EI_DATA, data[EI_DATA]);
	size_t ehsize = data[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (len < ehsize)
		FAIL(VG_ETRUNC, "offset %zu: ELF header truncated (%zu bytes needed)", len, ehsize);
	if (!inited) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			FAIL(VG_EUNSUPPORTED, "libelf: %s", elf_errmsg(-1));
		inited = 1;
	}
	/* libelf may convert byte order in place: give it a private copy */
	copy = malloc(len);
	if (!copy)
		FAIL(VG_ENOMEM, "out of memory");
	memcpy(copy, data, len);
	e = elf_memory(copy, len);
	if (!e || elf_kind(e) != ELF_K_ELF)
		FAIL(VG_EPARSE, "offset 0: libelf: %s", elf_errmsg(-1));
	GElf_Ehdr eh;
	if (!gelf_getehdr(e, &eh))
		FAIL(VG_EPARSE, "offset 0: ELF header: %s", elf_errmsg(-1));
	out->elf_class = data[EI_CLASS] == ELFCLASS64 ? 64 : 32;
	out->big_endian = data[EI_DATA] == ELFDATA2MSB;
	out->machine = eh.e_machine;
	out->machine_name = machine_name(eh.e_machine);
	out->type_name = type_name(eh.e_type);
	out->entropy = vg_entropy(data, len);

	size_t phnum = 0;
	int has_interp = 0, has_dynamic = 0;
	if (elf_getphdrnum(e, &phnum) != 0)
		FAIL(VG_EPARSE, "offset %llu: program headers: %s", (unsigned long long)eh.e_phoff, elf_errmsg(-1));
	/* libelf quietly drops headers that do not fit: check what the header claims */
	if (eh.e_phnum != PN_XNUM && (size_t)eh.e_phnum > phnum)
		phnum = eh.e_phnum;
	size_t phent = out->elf_class == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	size_t shent = out->elf_class == 64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (phnum && eh.e_phentsize != phent)
		FAIL(VG_EPARSE, "offset %d: program header size %u, expected %zu", out->elf_class == 64 ? 54 : 42,
		     eh.e_phentsize, phent);
	if (phnum && (eh.e_phoff > len || (uint64_t)phnum * eh.e_phentsize > len - eh.e_phoff))
		FAIL(VG_ETRUNC, "offset %llu: %zu program headers run past the end (%zu bytes)",
		     (unsigned long long)eh.e_phoff, phnum, len);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			FAIL(VG_EPARSE, "offset %llu: program header %zu: %s",
			     (unsigned long long)(eh.e_phoff + i * eh.e_phentsize), i, elf_errmsg(-1));
		if (ph.p_type == PT_DYNAMIC)
			has_dynamic = 1;
		if (ph.p_type != PT_INTERP)
			continue;
		has_interp = 1;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			FAIL(VG_ETRUNC, "offset %llu: interpreter path (%llu bytes) runs past the end (%zu bytes)",
			     (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz, len);
		size_t n = (size_t)ph.p_filesz;
		const char *s = (const char *)data + ph.p_offset;
		const char *nul = memchr(s, '\0', n);
		if (nul)
			n = (size_t)(nul - s);
		if (n >= sizeof(out->interpreter))
			n = sizeof(out->interpreter) - 1;
		for (size_t k = 0; k < n; k++) /* keep it printable: it goes into events */
			out->interpreter[k] = (s[k] >= 0x20 && s[k] < 0x7f) ? s[k] : '?';
		out->interpreter[n] = '\0';
	}

	size_t shnum = 0, shstrndx = 0;
	if (elf_getshdrnum(e, &shnum) != 0)
		FAIL(VG_EPARSE, "offset %llu: section headers: %s", (unsigned long long)eh.e_shoff, elf_errmsg(-1));
	if ((size_t)eh.e_shnum > shnum)
		shnum = eh.e_shnum;
	if (!shnum && eh.e_shoff) /* extended numbering: the count lives in section header 0 */
		shnum = 1;
	out->nsections = shnum;
	int has_symtab = 0;
	if (shnum) {
		if (eh.e_shentsize != shent)
			FAIL(VG_EPARSE, "offset %d: section header size %u, expected %zu",
			     out->elf_class == 64 ? 58 : 46, eh.e_shentsize, shent);
		if (eh.e_shoff > len || (uint64_t)shnum * eh.e_shentsize > len - eh.e_shoff)
			FAIL(VG_ETRUNC, "offset %llu: %zu section headers run past the end (%zu bytes)",
			     (unsigned long long)eh.e_shoff, shnum, len);
		if (elf_getshdrstrndx(e, &shstrndx) != 0)
			shstrndx = 0;
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				FAIL(VG_EPARSE, "offset %llu: section header %zu: %s", (unsigned long long)eh.e_shoff,
				     elf_ndxscn(scn), elf_errmsg(-1));
			if (sh.sh_type == SHT_SYMTAB)
				has_symtab = 1;
		}
	}
	out->stripped = !has_symtab;

	if (eh.e_type == ET_EXEC)
		out->linkage = has_interp ? "dynamic" : "static";
	else if (eh.e_type == ET_DYN)
		out->linkage = has_interp ? "pie" : (has_dynamic && dyn_pie(e, len)) ? "static-pie" : "shared";
	else
		out->linkage = "none";
out:
	if (e)
		elf_end(e);
	free(copy);
	return rc;
}
