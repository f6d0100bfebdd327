/* test_linux_path.c - Linux path classes, kernel-thread-like names and persistence locations. */
#include "test.h"
#include "vigil/linux.h"

TEST(linux_path_classes)
{
	static const struct {
		const char *path;
		const char *cls;
		int uw;
	} cases[] = {
		{ "/usr/bin/bash", "system", 0 },
		{ "/bin/ls", "system", 0 },
		{ "/usr/lib/systemd/systemd", "system", 0 },
		{ "/usr/lib/debug/.build-id/ab/x.debug", "system", 0 },
		{ "/etc/cron.d/x", "system", 0 },
		{ "/usr/local/bin/tool", "other", 0 },
		{ "/opt/app/bin/app", "other", 0 },
		{ "/srv/x", "other", 0 },
		{ "/tmp/x", "temp", 1 },
		{ "/tmp", "temp", 1 },
		{ "/tmpfoo/x", "other", 0 },
		{ "/var/tmp/.x/y", "temp", 1 },
		{ "/dev/shm/x", "shm", 1 },
		{ "/home/alice/bin/x", "home", 1 },
		{ "/home/", "other", 0 },
		{ "/root/x", "home", 1 },
		{ "/run/user/1000/x", "run_user", 1 },
		{ "/opt/.hidden/x", "hidden", 1 },
		{ "/var/lib/.x", "hidden", 1 },
		{ "/opt/./x", "other", 0 },
		{ "/opt/../x", "other", 0 },
		{ "/memfd:payload (deleted)", "memfd", 1 },
		{ "memfd:x", "memfd", 1 },
		{ "/usr/bin/x (deleted)", "deleted", 1 },
		{ "", "other", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		enum vg_linux_path_class c = vg_linux_path_class(cases[i].path);
		if (strcmp(vg_linux_path_class_name(c), cases[i].cls) != 0 ||
		    vg_linux_path_user_writable(c) != cases[i].uw)
			VG_FAIL_("%s: %s/%d, expected %s/%d", cases[i].path, vg_linux_path_class_name(c),
				 vg_linux_path_user_writable(c), cases[i].cls, cases[i].uw);
	}
	ASSERT_EQ(vg_linux_path_class(NULL), VG_LPATH_OTHER);
}

TEST(linux_kthread_names)
{
	ASSERT_TRUE(vg_linux_kthread_name("[kworker/0:1]"));
	ASSERT_TRUE(vg_linux_kthread_name("kworker/0:1"));
	ASSERT_TRUE(vg_linux_kthread_name("kthreadd"));
	ASSERT_TRUE(vg_linux_kthread_name("ksoftirqd/3"));
	ASSERT_TRUE(vg_linux_kthread_name("[anything]"));
	ASSERT_TRUE(!vg_linux_kthread_name("bash"));
	ASSERT_TRUE(!vg_linux_kthread_name("[]"));
	ASSERT_TRUE(!vg_linux_kthread_name("[x"));
	ASSERT_TRUE(!vg_linux_kthread_name(""));
	ASSERT_TRUE(!vg_linux_kthread_name(NULL));
}

TEST(linux_persist_kinds)
{
	static const struct {
		const char *path;
		enum vg_persist_kind k;
		int sys;
	} cases[] = {
		{ "/etc/crontab", VG_PERSIST_CRON, 1 },
		{ "/etc/cron.d/job", VG_PERSIST_CRON, 1 },
		{ "/etc/cron.daily/job", VG_PERSIST_CRON, 0 },
		{ "/var/spool/cron/crontabs/alice", VG_PERSIST_CRON, 0 },
		{ "/etc/systemd/system/evil.service", VG_PERSIST_SYSTEMD, 0 },
		{ "/etc/systemd/system/multi-user.target.wants/evil.service", VG_PERSIST_SYSTEMD, 0 },
		{ "/etc/systemd/system/ssh.service.d/override.conf", VG_PERSIST_SYSTEMD, 0 },
		{ "/usr/lib/systemd/system/x.timer", VG_PERSIST_SYSTEMD, 0 },
		{ "/home/bob/.config/systemd/user/x.service", VG_PERSIST_SYSTEMD, 0 },
		{ "/root/.config/systemd/user/x.service", VG_PERSIST_SYSTEMD, 0 },
		{ "/etc/systemd/journald.conf.bak", VG_PERSIST_NONE, 0 },
		{ "/home/bob/.bashrc", VG_PERSIST_SHELL_RC, 0 },
		{ "/root/.profile", VG_PERSIST_SHELL_RC, 0 },
		{ "/home/bob/.zshrc", VG_PERSIST_SHELL_RC, 0 },
		{ "/etc/profile.d/x.sh", VG_PERSIST_SHELL_RC, 0 },
		{ "/etc/bash.bashrc", VG_PERSIST_SHELL_RC, 0 },
		{ "/home/bob/sub/.bashrc", VG_PERSIST_NONE, 0 },
		{ "/etc/ld.so.preload", VG_PERSIST_LD_PRELOAD, 0 },
		{ "/etc/ld.so.conf", VG_PERSIST_NONE, 0 },
		{ "/home/bob/.config/autostart/x.desktop", VG_PERSIST_XDG_AUTOSTART, 0 },
		{ "/etc/xdg/autostart/x.desktop", VG_PERSIST_XDG_AUTOSTART, 0 },
		{ "/home/bob/.ssh/authorized_keys", VG_PERSIST_SSH_KEYS, 0 },
		{ "/root/.ssh/authorized_keys2", VG_PERSIST_SSH_KEYS, 0 },
		{ "/home/bob/.ssh/known_hosts", VG_PERSIST_NONE, 0 },
		{ "/tmp/.bashrc", VG_PERSIST_NONE, 0 },
		{ "relative/.bashrc", VG_PERSIST_NONE, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int sys = -1;
		enum vg_persist_kind k = vg_linux_persist_kind(cases[i].path, &sys);
		if (k != cases[i].k || sys != cases[i].sys)
			VG_FAIL_("%s: %s/%d, expected %s/%d", cases[i].path, vg_persist_kind_name(k), sys,
				 vg_persist_kind_name(cases[i].k), cases[i].sys);
	}
}
