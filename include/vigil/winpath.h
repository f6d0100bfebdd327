/* winpath.h - Windows path facts: folder classes, user-writable folders, command-line executable extraction, auto-start locations. */
#ifndef VIGIL_WINPATH_H
#define VIGIL_WINPATH_H

#include <stddef.h>

#include "vigil/event.h"

/* Where a Windows path lives, from the system's own folders to user-writable ones. */
enum vg_path_class {
	VG_PATH_OTHER = 0,
	VG_PATH_SYSTEM,        /* %windir%, System32, SysWOW64, WinSxS */
	VG_PATH_PROGRAM_FILES, /* Program Files, Program Files (x86) */
	VG_PATH_APPDATA,       /* C:\Users\<u>\AppData\(Roaming|Local|LocalLow) but not Temp */
	VG_PATH_TEMP,          /* AppData\Local\Temp, %windir%\Temp, \Temp\ */
	VG_PATH_PROGRAMDATA,   /* C:\ProgramData */
	VG_PATH_PUBLIC,        /* C:\Users\Public */
	VG_PATH_DOWNLOADS,     /* C:\Users\<u>\Downloads */
	VG_PATH_USER_PROFILE,  /* any other folder under C:\Users\<u> */
	VG_PATH_WINDOWS_WRITABLE, /* %windir% subfolders users can write: Tasks, Tracing, spool\drivers\color... */
};

/* Classifies a path (case-insensitive; drive letters, \\?\ and \Device\HarddiskVolumeN prefixes accepted). */
enum vg_path_class vg_path_classify(const char *path, size_t len);
const char *vg_path_class_name(enum vg_path_class c);
/* 1 for classes a standard user can write to (appdata, temp, programdata, public, downloads, user_profile). */
int vg_path_class_user_writable(enum vg_path_class c);

/*
 * Extracts the program path from a command line or registry value
 * ("\"C:\\x\\a.exe\" /s" -> C:\x\a.exe; "C:\\x\\a.exe -k" -> C:\x\a.exe;
 * "rundll32.exe C:\\x\\b.dll,Run" -> rundll32.exe). Environment variables
 * such as %APPDATA% are expanded to their usual folders so the class is known.
 * Writes at most out_len-1 bytes and a NUL. Returns the length, 0 if none.
 */
size_t vg_cmdline_program(const char *cmd, size_t len, char *out, size_t out_len);

/*
 * Skips the root of a Windows path (\\?\, \??\, \Device\HarddiskVolumeN\,
 * "C:\") and returns the rest, e.g. "Windows\System32\cmd.exe"; *len is
 * updated to the rest's length.
 */
const char *vg_path_strip_root(const char *path, size_t *len);

/* The file name part of a path (after the last '\\' or '/'). */
const char *vg_path_basename(const char *path);

/*
 * Classifies a registry key path or file path as an auto-start location.
 * Returns VG_PERSIST_NONE when it is not one.
 */
enum vg_persist_kind vg_autostart_registry(const char *key, size_t len);
enum vg_persist_kind vg_autostart_file(const char *path, size_t len);

#endif /* VIGIL_WINPATH_H */
