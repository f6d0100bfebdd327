/* persist_scan.c - finds program paths in Linux persistence files (crontab, systemd unit, shell rc, XDG autostart, ld.so.preload); bytes in, paths out, no I/O. */
#include <string.h>

#include "vigil/persist_scan.h"

#define MAX_PATH_OUT 1024

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Ends a path token: blanks, quotes, shell operators. */
static int path_end(char c)
{
	return is_space(c) || c == '"' || c == '\'' || c == ';' || c == '&' || c == '|' || c == '>' ||
	       c == '<' || c == '(' || c == ')' || c == '`' || c == '\n' || c == '\0';
}

/* Reports every path token of s[0..n): "/x", "~/x", "$HOME/x", "${HOME}/x". */
static size_t scan_tokens(const char *s, size_t n, const char *home, vg_persist_target_fn fn, void *ctx)
{
	char out[MAX_PATH_OUT];
	size_t found = 0;

	for (size_t i = 0; i < n; i++) {
		/* a path starts at the line's start or after a separator */
		if (i > 0 && !path_end(s[i - 1]) && s[i - 1] != '=')
			continue;
		size_t skip = 0;
		const char *prefix = NULL;
		if (s[i] == '/')
			skip = 0;
		else if (home && n - i >= 2 && memcmp(s + i, "~/", 2) == 0)
			skip = 1, prefix = home;
		else if (home && n - i >= 6 && memcmp(s + i, "$HOME/", 6) == 0)
			skip = 5, prefix = home;
		else if (home && n - i >= 8 && memcmp(s + i, "${HOME}/", 8) == 0)
			skip = 7, prefix = home;
		else
			continue;
		size_t o = 0;
		if (prefix) {
			size_t pl = strlen(prefix);
			if (pl >= sizeof(out))
				continue;
			memcpy(out, prefix, pl);
			o = pl;
		}
		size_t j = i + skip;
		while (j < n && !path_end(s[j]) && o + 1 < sizeof(out))
			out[o++] = s[j++];
		out[o] = '\0';
		i = j;
		if (o < 2) /* a lone "/" is no program */
			continue;
		fn(out, ctx);
		found++;
	}
	return found;
}

/* Skips n blank-separated fields; returns the offset after them, or len when the line has fewer. */
static size_t skip_fields(const char *s, size_t len, int n)
{
	size_t i = 0;
	while (i < len && is_space(s[i]))
		i++;
	for (int f = 0; f < n && i < len; f++) {
		while (i < len && !is_space(s[i]))
			i++;
		while (i < len && is_space(s[i]))
			i++;
	}
	return i;
}

static size_t scan_line(enum vg_persist_kind kind, int system_cron, const char *s, size_t n, const char *home,
			vg_persist_target_fn fn, void *ctx)
{
	size_t i = 0;

	while (i < n && is_space(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return 0;
	s += i;
	n -= i;
	switch (kind) {
	case VG_PERSIST_CRON: {
		/* "m h dom mon dow [user] cmd", "@reboot [user] cmd", or "NAME=value" (skipped) */
		size_t eq = 0;
		while (eq < n && s[eq] != '=' && !is_space(s[eq]))
			eq++;
		if (eq < n && s[eq] == '=')
			return 0;
		int fields = s[0] == '@' ? 1 : 5;
		size_t at = skip_fields(s, n, fields + (system_cron ? 1 : 0));
		return scan_tokens(s + at, n - at, home, fn, ctx);
	}
	case VG_PERSIST_SYSTEMD:
	case VG_PERSIST_XDG_AUTOSTART:
		if (n < 4 || memcmp(s, "Exec", 4) != 0)
			return 0;
		for (size_t k = 4; k < n; k++) {
			if (s[k] != '=')
				continue;
			k++;
			/* systemd's command prefixes: -ignore failure, @argv0, :no env, +!privileges */
			while (kind == VG_PERSIST_SYSTEMD && k < n && strchr("-@:+!", s[k]))
				k++;
			return scan_tokens(s + k, n - k, home, fn, ctx);
		}
		return 0;
	case VG_PERSIST_SSH_KEYS:
		return 0; /* keys, not programs (a command="..." option is rare; not scanned) */
	default:
		return scan_tokens(s, n, home, fn, ctx);
	}
}

size_t vg_persist_scan(enum vg_persist_kind kind, int system_cron, const char *text, size_t len,
		       const char *home, vg_persist_target_fn fn, void *ctx)
{
	size_t found = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		found += scan_line(kind, system_cron, text + i, n, home, fn, ctx);
		i += n + 1;
	}
	return found;
}
