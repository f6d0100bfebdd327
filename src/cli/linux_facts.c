/* linux_facts.c - `vigil linux-facts PATH...`: prints what the Linux host facts know about files (package, verification, hashes, ELF, path class, persistence) as JSON lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vigil/buf.h"
#include "vigil/common.h"
#include "vigil/linux.h"

static const char usage[] =
	"usage: vigil linux-facts [--pid PID] PATH...\n"
	"\n"
	"Prints one JSON object per file: path class, user-writable, the dpkg package owning it\n"
	"and its version, whether it matches the package's checksum, SHA-256, MD5, size,\n"
	"entropy, ELF facts, the folders a program of that name is packaged in, and the\n"
	"persistence mechanism its path is. See docs/linux-host.md.\n"
	"\n"
	"  -p, --pid PID   read the paths as process PID sees them (/proc/PID/root)\n"
	"\n"
	"Exit status: 0 every file was read, 2 some could not be.\n";

int vg_cli_linux_facts(int argc, char **argv)
{
	struct vg_linux_facts *f;
	struct vg_buf b = { 0 };
	int pid = 0, status = 0, i = 1;
	char dirs[1024];

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 2 && (strcmp(argv[1], "-p") == 0 || strcmp(argv[1], "--pid") == 0)) {
		char *end;
		long v = strtol(argv[2], &end, 10);
		if (*end || v <= 0 || v > 0x7fffffff) {
			fprintf(stderr, "vigil: linux-facts: --pid: '%s' is not a process id\n", argv[2]);
			return 2;
		}
		pid = (int)v;
		i = 3;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (vg_linux_facts_new(NULL, &f)) {
		fprintf(stderr, "vigil: linux-facts: out of memory\n");
		return 2;
	}
	struct vg_dpkg *d = vg_linux_facts_dpkg(f);
	for (; i < argc; i++) {
		const char *path = argv[i];
		struct vg_file_facts ff;
		int first = 1;
		int rc = vg_hashcache_path(vg_linux_facts_hashcache(f), path, pid, &ff, NULL);
		if (rc) {
			fprintf(stderr, "vigil: linux-facts: %s: %s\n", path, vg_strerror(rc));
			status = 2;
			continue;
		}
		enum vg_linux_path_class c = vg_linux_path_class(path);
		const char *pkg = vg_dpkg_owner(d, path);
		const char *base = strrchr(path, '/');
		enum vg_persist_kind pk = vg_linux_persist_kind(path, NULL);
		vg_buf_reset(&b);
		vg_buf_puts(&b, "{");
		vg_buf_json_kv(&b, &first, "path", path);
		vg_buf_json_kv(&b, &first, "class", vg_linux_path_class_name(c));
		vg_buf_printf(&b, ",\"user_writable\":%s", vg_linux_path_user_writable(c) ? "true" : "false");
		if (pkg) {
			vg_buf_json_kv(&b, &first, "package", pkg);
			vg_buf_json_kv(&b, &first, "version", vg_dpkg_version(d, pkg));
			enum vg_dpkg_verdict v = vg_dpkg_verify(d, path, ff.md5_raw);
			vg_buf_printf(&b, ",\"verified\":%s",
				      v == VG_DPKG_MATCH ? "true" : v == VG_DPKG_MODIFIED ? "false" : "null");
		}
		vg_buf_json_kv(&b, &first, "sha256", ff.sha256);
		vg_buf_json_kv(&b, &first, "md5", ff.md5);
		vg_buf_json_ku(&b, &first, "size", ff.size);
		vg_buf_printf(&b, ",\"entropy\":%.2f", ff.entropy);
		if (ff.is_elf && ff.elf_rc)
			vg_buf_json_kv(&b, &first, "elf_error", ff.elf_err);
		else if (ff.is_elf) {
			vg_buf_printf(&b, ",\"elf\":{\"class\":%d,\"machine\":\"%s\",\"type\":\"%s\",\"linkage\":\"%s\","
				      "\"sections\":%zu,\"stripped\":%s,\"interpreter\":",
				      ff.elf.elf_class, ff.elf.machine_name, ff.elf.type_name, ff.elf.linkage,
				      ff.elf.nsections, ff.elf.stripped ? "true" : "false");
			vg_buf_json_str(&b, ff.elf.interpreter);
			vg_buf_puts(&b, "}");
		}
		if (vg_dpkg_sysbin_dirs(d, base ? base + 1 : path, dirs, sizeof(dirs)))
			vg_buf_json_kv(&b, &first, "sysbin_dirs", dirs);
		if (pk)
			vg_buf_json_kv(&b, &first, "persistence", vg_persist_kind_name(pk));
		vg_buf_puts(&b, "}\n");
		fwrite(b.p, 1, b.len, stdout);
	}
	vg_buf_free(&b);
	vg_linux_facts_free(f);
	return status;
}
