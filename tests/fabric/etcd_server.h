/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A private etcd for one test: its own temporary data dir and free ports on
 * 127.0.0.1 (never 2379/2380), started and killed by the test itself.
 */
#ifndef XENIB_TESTS_ETCD_SERVER_H
#define XENIB_TESTS_ETCD_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

struct etcd_server {
	pid_t pid;
	char dir[128];		/* temporary: data/ and etcd.log inside */
	int client_port, peer_port;
	char url[64];		/* http://127.0.0.1:client_port */
};

/* Is an etcd binary there to run?  (Tests exit 77 if not.) */
bool etcd_server_available(void);
/* Start (the first time: make the dir, pick ports; later: same ones) and
 * wait until it serves requests; 0 or -errno. */
int etcd_server_start(struct etcd_server *s);
/* Kill it (SIGKILL: a crash) and reap it. */
void etcd_server_kill(struct etcd_server *s);
/* Kill it and remove its dir. */
void etcd_server_cleanup(struct etcd_server *s);
/* A free TCP port on 127.0.0.1 (nothing listening there). */
int etcd_server_free_port(void);

#endif
