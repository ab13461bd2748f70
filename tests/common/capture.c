// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stderr into a file for a while (capture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/capture.h"

static int saved_stderr = -1, cap_fd = -1;

void capture_start(void)
{
	char path[] = "/tmp/xenib-capture.XXXXXX";

	cap_fd = mkstemp(path);
	if (cap_fd < 0) {
		perror("capture: mkstemp");
		exit(1);
	}
	unlink(path);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(cap_fd, 2);
}

unsigned int capture_count(const char *needle, bool echo)
{
	static char buf[1 << 20];
	unsigned int n = 0;
	ssize_t len;
	char *p;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	len = pread(cap_fd, buf, sizeof(buf) - 1, 0);
	close(cap_fd);
	saved_stderr = cap_fd = -1;
	buf[len > 0 ? len : 0] = 0;
	if (echo)
		fputs(buf, stderr);
	for (p = buf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}
