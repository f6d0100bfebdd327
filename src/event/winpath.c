/* winpath.c - Windows path classes, program extraction from command lines and auto-start location classification. */
#include <string.h>

#include "vigil/winpath.h"

/* case-insensitive substring test with a literal needle */
#define HAS(s, n, lit) (vg_strcasestr_n((s), (n), (lit), sizeof(lit) - 1) != NULL)

const char *vg_path_strip_root(const char *p, size_t *len)
{
	size_t n = *len;

	if (n >= 4 && (memcmp(p, "\\\\?\\", 4) == 0 || memcmp(p, "\\??\\", 4) == 0)) {
		p += 4;
		n -= 4;
	}
	if (vg_starts_with_ci(p, n, "\\device\\harddiskvolume")) {
		size_t i = 22;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		p += i;
		n -= i;
	} else if (n >= 2 && p[1] == ':') {
		p += 2;
		n -= 2;
	}
	while (n && (*p == '\\' || *p == '/')) {
		p++;
		n--;
	}
	*len = n;
	return p;
}

/* Length of the first path component of p, up to a separator. */
static size_t component(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] != '\\' && p[i] != '/')
		i++;
	return i;
}

enum vg_path_class vg_path_classify(const char *path, size_t len)
{
	size_t n = len;
	const char *p;

	if (!path || !len)
		return VG_PATH_OTHER;
	p = vg_path_strip_root(path, &n);
	if (vg_starts_with_ci(p, n, "windows\\temp\\"))
		return VG_PATH_TEMP;
	/* folders under %windir% that standard users can write to */
	static const char *writable[] = {
		"windows\\tasks\\", "windows\\tracing\\", "windows\\debug\\",
		"windows\\registration\\crmlog\\", "windows\\system32\\tasks\\",
		"windows\\syswow64\\tasks\\", "windows\\system32\\spool\\drivers\\color\\",
		"windows\\system32\\microsoft\\crypto\\rsa\\machinekeys\\",
		"windows\\syswow64\\com\\dmp\\", "windows\\system32\\com\\dmp\\",
	};
	for (size_t i = 0; i < sizeof(writable) / sizeof(*writable); i++)
		if (vg_starts_with_ci(p, n, writable[i]))
			return VG_PATH_WINDOWS_WRITABLE;
	if (vg_starts_with_ci(p, n, "windows\\"))
		return VG_PATH_SYSTEM;
	if (vg_starts_with_ci(p, n, "program files\\") || vg_starts_with_ci(p, n, "program files (x86)\\"))
		return VG_PATH_PROGRAM_FILES;
	if (vg_starts_with_ci(p, n, "programdata\\"))
		return VG_PATH_PROGRAMDATA;
	if (vg_starts_with_ci(p, n, "users\\public\\"))
		return VG_PATH_PUBLIC;
	if (vg_starts_with_ci(p, n, "users\\") || vg_starts_with_ci(p, n, "documents and settings\\")) {
		size_t skip = vg_starts_with_ci(p, n, "users\\") ? 6 : 22;
		const char *u = p + skip;
		size_t un = n - skip, c = component(u, un);
		if (c >= un)
			return VG_PATH_USER_PROFILE;
		u += c + 1;
		un -= c + 1;
		if (vg_starts_with_ci(u, un, "appdata\\local\\temp\\") ||
		    vg_starts_with_ci(u, un, "local settings\\temp\\"))
			return VG_PATH_TEMP;
		if (vg_starts_with_ci(u, un, "appdata\\"))
			return VG_PATH_APPDATA;
		if (vg_starts_with_ci(u, un, "downloads\\"))
			return VG_PATH_DOWNLOADS;
		return VG_PATH_USER_PROFILE;
	}
	if (HAS(p, n, "\\temp\\") || vg_starts_with_ci(p, n, "temp\\"))
		return VG_PATH_TEMP;
	return VG_PATH_OTHER;
}

const char *vg_path_class_name(enum vg_path_class c)
{
	static const char *names[] = { "other", "system", "program_files", "appdata", "temp",
				       "programdata", "public", "downloads", "user_profile",
				       "windows_writable" };
	return (unsigned)c < sizeof(names) / sizeof(*names) ? names[c] : "other";
}

int vg_path_class_user_writable(enum vg_path_class c)
{
	return c == VG_PATH_APPDATA || c == VG_PATH_TEMP || c == VG_PATH_PROGRAMDATA ||
	       c == VG_PATH_PUBLIC || c == VG_PATH_DOWNLOADS || c == VG_PATH_USER_PROFILE ||
	       c == VG_PATH_WINDOWS_WRITABLE;
}

const char *vg_path_basename(const char *path)
{
	const char *b = path;
	if (!path)
		return NULL;
	for (const char *p = path; *p; p++)
		if (*p == '\\' || *p == '/')
			b = p + 1;
	return b;
}

static const struct {
	const char *var;
	const char *value;
} env_vars[] = {
	{ "%appdata%", "C:\\Users\\user\\AppData\\Roaming" },
	{ "%localappdata%", "C:\\Users\\user\\AppData\\Local" },
	{ "%temp%", "C:\\Users\\user\\AppData\\Local\\Temp" },
	{ "%tmp%", "C:\\Users\\user\\AppData\\Local\\Temp" },
	{ "%userprofile%", "C:\\Users\\user" },
	{ "%public%", "C:\\Users\\Public" },
	{ "%programdata%", "C:\\ProgramData" },
	{ "%allusersprofile%", "C:\\ProgramData" },
	{ "%windir%", "C:\\Windows" },
	{ "%systemroot%", "C:\\Windows" },
	{ "%programfiles%", "C:\\Program Files" },
	{ "%programfiles(x86)%", "C:\\Program Files (x86)" },
	{ "%systemdrive%", "C:" },
};

static int has_exec_ext_at(const char *p, size_t n, size_t i)
{
	static const char *exts[] = { ".exe", ".com", ".bat", ".cmd", ".scr", ".dll", ".ps1",
				      ".vbs", ".js", ".hta", ".pif", ".cpl", ".msi", ".jar" };
	for (size_t k = 0; k < sizeof(exts) / sizeof(*exts); k++) {
		size_t m = strlen(exts[k]);
		if (i + m <= n && vg_strncaseeq(p + i, exts[k], m) &&
		    (i + m == n || p[i + m] == ' ' || p[i + m] == '\t' || p[i + m] == ',' ||
		     p[i + m] == '"'))
			return (int)m;
	}
	return 0;
}

size_t vg_cmdline_program(const char *cmd, size_t len, char *out, size_t out_len)
{
	size_t i = 0, start, end;
	char tmp[1024];
	size_t o = 0;

	if (!out_len)
		return 0;
	out[0] = '\0';
	if (!cmd)
		return 0;
	while (i < len && (cmd[i] == ' ' || cmd[i] == '\t'))
		i++;
	if (i < len && cmd[i] == '"') {
		start = ++i;
		while (i < len && cmd[i] != '"')
			i++;
		end = i;
	} else {
		start = i;
		end = len;
		for (size_t j = i; j < len; j++) {
			int m = has_exec_ext_at(cmd, len, j);
			if (m) {
				end = j + (size_t)m;
				break;
			}
		}
		if (end == len) { /* no extension: first token */
			size_t j = start;
			while (j < len && cmd[j] != ' ' && cmd[j] != '\t')
				j++;
			end = j;
		}
	}
	/* copy with environment variables expanded */
	for (size_t j = start; j < end && o + 1 < sizeof(tmp);) {
		if (cmd[j] == '%') {
			size_t k;
			for (k = 0; k < sizeof(env_vars) / sizeof(*env_vars); k++) {
				size_t m = strlen(env_vars[k].var);
				if (j + m <= end && vg_strncaseeq(cmd + j, env_vars[k].var, m)) {
					size_t vl = strlen(env_vars[k].value);
					if (o + vl + 1 >= sizeof(tmp))
						break;
					memcpy(tmp + o, env_vars[k].value, vl);
					o += vl;
					j += m;
					break;
				}
			}
			if (k < sizeof(env_vars) / sizeof(*env_vars))
				continue;
		}
		tmp[o++] = cmd[j++];
	}
	if (o >= out_len)
		o = out_len - 1;
	memcpy(out, tmp, o);
	out[o] = '\0';
	return o;
}

enum vg_persist_kind vg_autostart_registry(const char *key, size_t len)
{
	if (!key)
		return VG_PERSIST_NONE;
	if (HAS(key, len, "\\currentversion\\run") ||
	    HAS(key, len, "\\policies\\explorer\\run\\"))
		return VG_PERSIST_RUN_KEY;
	if (HAS(key, len, "\\windows nt\\currentversion\\winlogon\\")) {
		const char *b = key + len;
		while (b > key && b[-1] != '\\')
			b--;
		size_t bn = (size_t)(key + len - b);
		if ((bn == 5 && vg_strncaseeq(b, "shell", 5)) || (bn == 8 && vg_strncaseeq(b, "userinit", 8)) ||
		    HAS(key, len, "\\winlogon\\notify\\"))
			return VG_PERSIST_WINLOGON;
	}
	if ((HAS(key, len, "\\currentcontrolset\\services\\") ||
	     HAS(key, len, "\\controlset001\\services\\") ||
	     HAS(key, len, "\\controlset002\\services\\")) &&
	    (vg_ends_with_ci(key, len, "\\imagepath") || vg_ends_with_ci(key, len, "\\servicedll")))
		return VG_PERSIST_SERVICE;
	if (HAS(key, len, "\\image file execution options\\") &&
	    (vg_ends_with_ci(key, len, "\\debugger") || vg_ends_with_ci(key, len, "\\globalflag")))
		return VG_PERSIST_IFEO;
	if (HAS(key, len, "\\silentprocessexit\\") && vg_ends_with_ci(key, len, "\\monitorprocess"))
		return VG_PERSIST_IFEO;
	if (HAS(key, len, "\\schedule\\taskcache\\"))
		return VG_PERSIST_SCHEDULED_TASK;
	return VG_PERSIST_NONE;
}

enum vg_persist_kind vg_autostart_file(const char *path, size_t len)
{
	if (!path)
		return VG_PERSIST_NONE;
	if (HAS(path, len, "\\start menu\\programs\\startup\\"))
		return VG_PERSIST_STARTUP_FOLDER;
	if (HAS(path, len, "\\windows\\system32\\tasks\\") ||
	    HAS(path, len, "\\windows\\tasks\\"))
		return VG_PERSIST_SCHEDULED_TASK;
	return VG_PERSIST_NONE;
}
