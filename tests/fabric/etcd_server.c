// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xenibd/fabric/etcd.h"
#include "tests/fabric/etcd_server.h"

#define ETCD_BIN	"etcd"
#define READY_TIMEOUT_MS 60000	/* a loaded 2-core machine */

bool etcd_server_available(void)
{
	return !system("command -v " ETCD_BIN " >/dev/null 2>&1");
}

int etcd_server_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	close(fd);
	/* the kernel hands out ports far from etcd's 2379/2380 */
	return port == 2379 || port == 2380 ? etcd_server_free_port() : port;
}

static void ready_cb(struct etcd *e, const struct etcd_res *res, void *arg)
{
	int *st = arg;

	*st = res->err ? 2 : 1;
}

/* Ready when a read through the gateway works (a leader is elected). */
static int wait_ready(struct etcd_server *s)
{
	struct etcd_config cfg = { .endpoints = s->url,
				   .request_timeout_ms = 2000,
				   .connect_timeout_ms = 500 };
	uint64_t end = etcd_now_ns() + READY_TIMEOUT_MS * 1000000ull;
	struct etcd *e;
	int err = 0;

	e = etcd_new(&cfg, &err);
	if (!e)
		return -err;
	while (etcd_now_ns() < end) {
		int st = 0, w;
		bool done = false;

		if (waitpid(s->pid, &w, WNOHANG) == s->pid) {
			s->pid = 0;
			fprintf(stderr, "etcd exited at start; see %s/etcd.log\n",
				s->dir);
			break;
		}
		if (etcd_get(e, "/ready", NULL, ready_cb, &st))
			break;
		while (!st)
			if (etcd_run_until(e, &done, 100) != -ETIMEDOUT)
				break;
		if (st == 1) {
			etcd_destroy(e);
			return 0;
		}
		/* refused until etcd listens: try again shortly */
		etcd_run_until(e, &done, 100);
	}
	etcd_destroy(e);
	return -ETIMEDOUT;
}

int etcd_server_start(struct etcd_server *s)
{
	char name[32], data[160], log[160], curl[64], purl[64], cluster[96];

	if (!s->dir[0]) {
		snprintf(s->dir, sizeof(s->dir), "/tmp/xenib-etcd-test.XXXXXX");
		if (!mkdtemp(s->dir))
			return -errno;
		s->client_port = etcd_server_free_port();
		s->peer_port = etcd_server_free_port();
		if (s->client_port < 0 || s->peer_port < 0 ||
		    s->client_port == s->peer_port)
			return -EADDRINUSE;
		snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d",
			 s->client_port);
	}
	snprintf(name, sizeof(name), "t%d", s->client_port);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	snprintf(log, sizeof(log), "%s/etcd.log", s->dir);
	snprintf(curl, sizeof(curl), "%s", s->url);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", s->peer_port);
	snprintf(cluster, sizeof(cluster), "%s=%s", name, purl);
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* never outlive the test */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(ETCD_BIN, ETCD_BIN, "--name", name, "--data-dir", data,
		       "--listen-client-urls", curl,
		       "--advertise-client-urls", curl,
		       "--listen-peer-urls", purl,
		       "--initial-advertise-peer-urls", purl,
		       "--initial-cluster", cluster,
		       "--logger", "zap", "--log-level", "warn",
		       (char *)NULL);
		_exit(127);
	}
	return wait_ready(s);
}

void etcd_server_kill(struct etcd_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

void etcd_server_cleanup(struct etcd_server *s)
{
	char cmd[200];

	etcd_server_kill(s);
	if (s->dir[0] && !strncmp(s->dir, "/tmp/xenib-etcd-test.", 21)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", s->dir);
	}
	s->dir[0] = 0;
}
