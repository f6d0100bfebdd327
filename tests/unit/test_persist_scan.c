/* test_persist_scan.c - the persistence file scanner: cron (user and system), systemd units, shell rc, autostart, ld.so.preload, comments and expansions. */
#include "test.h"
#include "vigil/persist_scan.h"

struct found {
	char paths[8][256];
	size_t n;
};

static void collect(const char *path, void *ctx)
{
	struct found *f = ctx;
	if (f->n < 8)
		snprintf(f->paths[f->n++], 256, "%s", path);
}

static struct found scan(enum vg_persist_kind kind, int system_cron, const char *text)
{
	struct found f = { 0 };
	vg_persist_scan(kind, system_cron, text, strlen(text), "/home/u", collect, &f);
	return f;
}

TEST(persist_scan_cron)
{
	struct found f = scan(VG_PERSIST_CRON, 0,
			      "# comment /not/this\nSHELL=/bin/bash\n"
			      "*/5 * * * * /home/u/.cache/.sysd/kw >/dev/null 2>&1\n"
			      "@reboot ~/.local/bin/agent --quiet\n");
	ASSERT_EQ(f.n, 3);
	ASSERT_STR_EQ(f.paths[0], "/home/u/.cache/.sysd/kw");
	ASSERT_STR_EQ(f.paths[1], "/dev/null");
	ASSERT_STR_EQ(f.paths[2], "/home/u/.local/bin/agent");
	/* system crontab: the user field is not a command */
	f = scan(VG_PERSIST_CRON, 1, "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
				     "* * * * * root /dev/shm/x\n");
	ASSERT_EQ(f.n, 2); /* "cd /": a lone slash is no program */
	ASSERT_STR_EQ(f.paths[0], "/etc/cron.hourly");
	ASSERT_STR_EQ(f.paths[1], "/dev/shm/x");
}

TEST(persist_scan_systemd_and_desktop)
{
	struct found f = scan(VG_PERSIST_SYSTEMD, 0,
			      "[Unit]\nDescription=/usr/bin/not-exec\n[Service]\n"
			      "ExecStart=/dev/shm/.x --daemon\nExecStartPre=-${HOME}/.cache/y\n"
			      "Environment=PATH=/tmp/.bin\n");
	ASSERT_EQ(f.n, 2);
	ASSERT_STR_EQ(f.paths[0], "/dev/shm/.x");
	ASSERT_STR_EQ(f.paths[1], "/home/u/.cache/y");
	f = scan(VG_PERSIST_XDG_AUTOSTART, 0, "[Desktop Entry]\nName=x\nExec=/tmp/.a %u\nIcon=/usr/share/x.png\n");
	ASSERT_EQ(f.n, 1);
	ASSERT_STR_EQ(f.paths[0], "/tmp/.a");
}

TEST(persist_scan_shell_rc_and_preload)
{
	struct found f = scan(VG_PERSIST_SHELL_RC, 0,
			      "# ~/.bashrc\nalias ll='ls -l'\n"
			      "(nohup \"$HOME/.cache/.sysd/z\" &) >/dev/null\n");
	ASSERT_EQ(f.n, 2);
	ASSERT_STR_EQ(f.paths[0], "/home/u/.cache/.sysd/z");
	ASSERT_STR_EQ(f.paths[1], "/dev/null");
	f = scan(VG_PERSIST_LD_PRELOAD, 0, "/usr/local/lib/libprocesshider.so\n");
	ASSERT_EQ(f.n, 1);
	f = scan(VG_PERSIST_SSH_KEYS, 0, "ssh-ed25519 AAAA... /tmp/not-a-program\n");
	ASSERT_EQ(f.n, 0);
}
