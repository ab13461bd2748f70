// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The frame of a test against its own etcd (etcd_test.h). */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fabric/etcd_test.h"

static struct etcd_server *srv;

void etcd_test_start(struct etcd_server *s)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!etcd_server_available()) {
		printf("etcd not installed: skipped\n");
		exit(77);
	}
	srv = s;
	REQUIRE(!etcd_server_start(s), "cannot start etcd");
}

void etcd_test_abort(void)
{
	if (srv)
		etcd_server_cleanup(srv);
	exit(1);
}

int etcd_test_end(const char *name)
{
	if (srv)
		etcd_server_cleanup(srv);
	srv = NULL;
	printf("%s: %s\n", name, failed ? "FAILED" : "passed");
	return check_summary();
}
