/* status.c - `vigil status`: asks the running vigild for its state over its Unix socket and prints it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: vigil status [--socket PATH]\n"
	"\n"
	"Prints the running vigild's state as one JSON object: uptime, mode, events,\n"
	"drops, alerts, actions, rules and the effective configuration.\n"
	"\n"
	"  -s, --socket PATH   vigild's status socket (default /run/vigil/vigild.sock)\n"
	"\n"
	"Exit status: 0 running, 1 not running or not answering.\n";

int vg_cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *path = "/run/vigil/vigild.sock";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[8192];
	int c, fd, got = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 1;
		}
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vigil: %s: socket path too long\n", path);
		return 1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "vigil: vigild is not running (%s: %s)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		got = 1;
	}
	close(fd);
	if (!got) {
		fprintf(stderr, "vigil: vigild did not answer on %s\n", path);
		return 1;
	}
	return 0;
}
