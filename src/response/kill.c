/* kill.c - signals a process only while it is still the one an event named: pidfd first, then its start time checked, then the signal through the pidfd. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vigil/response.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* Field 22 (starttime) of /proc/<pid>/stat; the comm (field 2) may hold spaces and ')' so parse after the last ')'. */
uint64_t vg_proc_start_ticks(uint32_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ")": field 3 (state) ... field 22 */
	p++;
	for (int field = 3; field < 22 && *p; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
	}
	if (sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

int vg_kill_checked(uint32_t pid, uint64_t start_ticks, int sig)
{
	int pfd, rc = 0;

	if (pid == 0)
		return VG_EINVAL;
	pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pfd < 0)
		return errno == ESRCH ? VG_ENOTFOUND : -errno;
	/* the pidfd names whatever held pid when it was opened; the process the
	 * event named existed before that, so equal start times mean the same one */
	if (vg_proc_start_ticks(pid) != start_ticks) {
		close(pfd);
		return VG_ENOTFOUND;
	}
	if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
		rc = errno == ESRCH ? VG_ENOTFOUND : -errno;
	close(pfd);
	return rc;
}
