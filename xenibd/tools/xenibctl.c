// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xenibctl: ask a running xenibd for its accounting. */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/hv.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xenibctl [-d DIR] stats|guests|qps|hosts|routes|link-flap|domains\n"
		   "       xenibctl [-d DIR] attach|detach NAME\n"
		   "       xenibctl [-d DIR] migrate GUEST HOST\n"
		   "  -d DIR  xenibd's run directory (default $XENIB_EMU_DIR or %s)\n",
		XENIB_RUN_DIR);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *dir = hv_emu_dir();
	char buf[4096], cmd[192];
	ssize_t n;
	bool failed = false;
	int opt, fd;

	while ((opt = getopt(argc, argv, "d:h")) != -1) {
		if (opt == 'd') {
			dir = optarg;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind == argc - 2 && (!strcmp(argv[optind], "attach") ||
				   !strcmp(argv[optind], "detach"))) {
		const char *name = argv[optind + 1];

		if (!*name || strlen(name) > 63 || strpbrk(name, " /\n")) {
			fprintf(stderr, "xenibctl: bad domain name '%s'\n", name);
			return 2;
		}
		snprintf(cmd, sizeof(cmd), "%s %s\n", argv[optind], name);
	} else if (optind == argc - 3 && !strcmp(argv[optind], "migrate")) {
		const char *g = argv[optind + 1], *h = argv[optind + 2];

		if (!*g || !*h || strlen(g) > 63 || strlen(h) > 63 ||
		    strpbrk(g, " /\n") || strpbrk(h, " /\n")) {
			fprintf(stderr, "xenibctl: bad guest or host name\n");
			return 2;
		}
		snprintf(cmd, sizeof(cmd), "migrate %s %s\n", g, h);
	} else if (optind == argc - 1 && (!strcmp(argv[optind], "stats") ||
					  !strcmp(argv[optind], "guests") ||
					  !strcmp(argv[optind], "domains") ||
					  !strcmp(argv[optind], "hosts") ||
					  !strcmp(argv[optind], "routes") ||
					  !strcmp(argv[optind], "qps") ||
					  !strcmp(argv[optind], "link-flap"))) {
		snprintf(cmd, sizeof(cmd), "%s\n", argv[optind]);
	} else {
		usage(stderr);
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenibd.ctl", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "xenibctl: cannot reach xenibd at %s: %s\n",
			sa.sun_path, strerror(errno));
		return 1;
	}
	if (write(fd, cmd, strlen(cmd)) < 0) {
		perror("xenibctl: write");
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, n, stdout);
		if (!strncmp(buf, "error ", 6))
			failed = true;
	}
	close(fd);
	return n < 0 || failed ? 1 : 0;
}
