// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Baseline: TCP over loopback between two processes, what a user would fall
 * back to without RDMA.  Usage: tcp_loop lat|bw SIZE ITERS
 * lat: ping-pong, prints "SIZE usec" (half round trip, as perftest's
 * latency).  bw: one-way stream, prints "SIZE MB/s".
 */
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
}

static int xfer(int fd, char *buf, size_t len, int send_it)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send_it ? write(fd, buf + off, len - off) :
				      read(fd, buf + off, len - off);
		if (n <= 0)
			return -1;
		off += n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lat = argc > 1 && !strcmp(argv[1], "lat");
	size_t size = argc > 2 ? strtoull(argv[2], NULL, 0) : 8;
	long iters = argc > 3 ? atol(argv[3]) : 10000;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sa);
	int one = 1, ls, fd;
	char *buf = calloc(1, size);
	double t0, t;
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (void *)&sa, sizeof(sa)) || listen(ls, 1) ||
	    getsockname(ls, (void *)&sa, &slen))
		return 1;
	pid = fork();
	if (pid == 0) {		/* client */
		pin(1);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (void *)&sa, sizeof(sa)))
			_exit(1);
		for (long i = 0; i < iters; i++) {
			if (xfer(fd, buf, size, 1) ||
			    (lat && xfer(fd, buf, size, 0)))
				_exit(1);
		}
		if (!lat)
			xfer(fd, buf, 1, 0);	/* wait for the final ack */
		_exit(0);
	}
	pin(0);
	fd = accept(ls, NULL, NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now();
	for (long i = 0; i < iters; i++) {
		if (xfer(fd, buf, size, 0) || (lat && xfer(fd, buf, size, 1)))
			return 1;
	}
	if (!lat)
		xfer(fd, buf, 1, 1);
	t = now();
	waitpid(pid, NULL, 0);
	if (lat)
		printf("%zu %.3f\n", size, (t - t0) / iters / 2 * 1e6);
	else
		printf("%zu %.1f\n", size, iters * (double)size / (t - t0) / 1e6);
	return 0;
}
