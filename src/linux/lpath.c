/* lpath.c - Linux path facts: folder classes (system, temporary, home, memfd, deleted...), kernel-thread-like names, and which persistence mechanism a file path is. */
#include <string.h>

#include "vigil/linux.h"

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* path starts with folder dir: "/tmp" matches "/tmp" and "/tmp/x", not "/tmpx". */
static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* A path component starting with '.' (not "." or ".."). */
static int has_hidden_part(const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p != '/' || p[1] != '.')
			continue;
		char c = p[2];
		if (c == '\0' || c == '/')
			continue; /* "/." */
		if (c == '.' && (p[3] == '\0' || p[3] == '/'))
			continue; /* "/.." */
		return 1;
	}
	return 0;
}

enum vg_linux_path_class vg_linux_path_class(const char *path)
{
	if (!path || !*path)
		return VG_LPATH_OTHER;
	if (has_prefix(path, "/memfd:") || has_prefix(path, "memfd:"))
		return VG_LPATH_MEMFD;
	if (ends_with(path, " (deleted)"))
		return VG_LPATH_DELETED;
	if (under(path, "/tmp") || under(path, "/var/tmp"))
		return VG_LPATH_TEMP;
	if (under(path, "/dev/shm") || under(path, "/run/shm"))
		return VG_LPATH_SHM;
	if (under(path, "/root") || (has_prefix(path, "/home/") && path[6] && path[6] != '/'))
		return VG_LPATH_HOME;
	if (has_prefix(path, "/run/user/") && path[10])
		return VG_LPATH_RUN_USER;
	/* package folders only root writes, even where a dot folder hides (/usr/lib/debug/.build-id) */
	static const char *const sys[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
					   "/etc", "/boot" };
	if (!under(path, "/usr/local"))
		for (size_t i = 0; i < sizeof(sys) / sizeof(*sys); i++)
			if (under(path, sys[i]))
				return VG_LPATH_SYSTEM;
	if (has_hidden_part(path))
		return VG_LPATH_HIDDEN;
	return VG_LPATH_OTHER;
}

const char *vg_linux_path_class_name(enum vg_linux_path_class c)
{
	switch (c) {
	case VG_LPATH_SYSTEM: return "system";
	case VG_LPATH_TEMP: return "temp";
	case VG_LPATH_SHM: return "shm";
	case VG_LPATH_HOME: return "home";
	case VG_LPATH_RUN_USER: return "run_user";
	case VG_LPATH_HIDDEN: return "hidden";
	case VG_LPATH_MEMFD: return "memfd";
	case VG_LPATH_DELETED: return "deleted";
	default: return "other";
	}
}

int vg_linux_path_user_writable(enum vg_linux_path_class c)
{
	return c != VG_LPATH_SYSTEM && c != VG_LPATH_OTHER;
}

int vg_linux_kthread_name(const char *name)
{
	static const char *const kt[] = {
		"kworker", "kthreadd", "ksoftirqd", "kswapd", "migration", "rcu_", "kthread", "watchdog",
		"kblockd", "kcompactd", "khugepaged", "jbd2", "irq/", "cpuhp", "kauditd", "khungtaskd",
		"oom_reaper", "kdevtmpfs", "kintegrityd", "writeback", "kstrp", "scsi_eh", "idle_inject",
		"ksmd", "kthrotld", "netns", "mm_percpu_wq", "inet_frag_wq",
	};
	if (!name || !*name)
		return 0;
	size_t n = strlen(name);
	if (name[0] == '[' && n > 2 && name[n - 1] == ']')
		return 1;
	for (size_t i = 0; i < sizeof(kt) / sizeof(*kt); i++)
		if (has_prefix(name, kt[i]))
			return 1;
	return 0;
}

/* The part of a path after a home folder ("/home/u/" or "/root/"), or NULL. */
static const char *home_rest(const char *path)
{
	if (has_prefix(path, "/root/"))
		return path + 6;
	if (!has_prefix(path, "/home/"))
		return NULL;
	const char *s = strchr(path + 6, '/');
	return s && s > path + 6 ? s + 1 : NULL;
}

static int unit_name(const char *path)
{
	static const char *const sfx[] = { ".service", ".timer", ".socket", ".path", ".conf" };
	for (size_t i = 0; i < sizeof(sfx) / sizeof(*sfx); i++)
		if (ends_with(path, sfx[i]))
			return 1;
	return 0;
}

enum vg_persist_kind vg_linux_persist_kind(const char *path, int *system_cron)
{
	int sys = 0;
	enum vg_persist_kind k = VG_PERSIST_NONE;
	const char *rest;

	if (!path || path[0] != '/')
		goto out;
	if (strcmp(path, "/etc/crontab") == 0 || has_prefix(path, "/etc/cron.d/")) {
		k = VG_PERSIST_CRON;
		sys = 1;
	} else if (has_prefix(path, "/etc/cron.hourly/") || has_prefix(path, "/etc/cron.daily/") ||
		   has_prefix(path, "/etc/cron.weekly/") || has_prefix(path, "/etc/cron.monthly/") ||
		   has_prefix(path, "/var/spool/cron/")) {
		k = VG_PERSIST_CRON;
	} else if (strcmp(path, "/etc/ld.so.preload") == 0) {
		k = VG_PERSIST_LD_PRELOAD;
	} else if ((has_prefix(path, "/etc/systemd/") || has_prefix(path, "/usr/lib/systemd/system/") ||
		    has_prefix(path, "/lib/systemd/system/") || has_prefix(path, "/usr/lib/systemd/user/") ||
		    has_prefix(path, "/run/systemd/system/")) && unit_name(path)) {
		k = VG_PERSIST_SYSTEMD;
	} else if (strcmp(path, "/etc/profile") == 0 || has_prefix(path, "/etc/profile.d/") ||
		   strcmp(path, "/etc/bash.bashrc") == 0 || strcmp(path, "/etc/bash.bash_logout") == 0 ||
		   has_prefix(path, "/etc/zsh/") || strcmp(path, "/etc/zshrc") == 0) {
		k = VG_PERSIST_SHELL_RC;
	} else if (has_prefix(path, "/etc/xdg/autostart/")) {
		k = VG_PERSIST_XDG_AUTOSTART;
	} else if (has_prefix(path, "/etc/ssh/authorized_keys")) {
		k = VG_PERSIST_SSH_KEYS;
	} else if ((rest = home_rest(path))) {
		static const char *const rc[] = { ".bashrc", ".bash_profile", ".bash_login", ".bash_logout",
						  ".profile", ".zshrc", ".zprofile", ".zshenv", ".zlogin" };
		for (size_t i = 0; i < sizeof(rc) / sizeof(*rc); i++)
			if (strcmp(rest, rc[i]) == 0)
				k = VG_PERSIST_SHELL_RC;
		if (has_prefix(rest, ".config/autostart/"))
			k = VG_PERSIST_XDG_AUTOSTART;
		else if ((has_prefix(rest, ".config/systemd/user/") || has_prefix(rest, ".local/share/systemd/user/")) &&
			 unit_name(path))
			k = VG_PERSIST_SYSTEMD;
		else if (strcmp(rest, ".ssh/authorized_keys") == 0 || strcmp(rest, ".ssh/authorized_keys2") == 0)
			k = VG_PERSIST_SSH_KEYS;
	}
out:
	if (system_cron)
		*system_cron = sys;
	return k;
}
