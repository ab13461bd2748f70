// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The attacker's target (tests/cm/cm_attacker.c): a listener with backlog
 * 4 through our librdmacm that reads nothing while the flood runs.  Once
 * the attacker says it flooded, exactly the backlog's requests must be
 * queued here, no more; they are rejected, and the victim's channel still
 * works (an address resolution completes).
 * Usage: cm_victim PORT READY_FILE FLOODED_FILE COUNTED_FILE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <rdma/rdma_cma.h>

#include "tests/common/check.h"

static void touch(const char *f)
{
	FILE *fp = fopen(f, "w");

	if (fp)
		fclose(fp);
}

int main(int argc, char **argv)
{
	struct sockaddr_in s = { .sin_family = AF_INET };
	struct rdma_event_channel *ch;
	struct rdma_cm_event *ev;
	struct rdma_cm_id *l, *probe;
	struct stat st;
	int i, reqs = 0, others = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: cm_victim PORT READY FLOODED COUNTED\n");
		return 2;
	}
	s.sin_port = htons(atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
	ch = rdma_create_event_channel();
	if (!ch || rdma_create_id(ch, &l, NULL, RDMA_PS_TCP) ||
	    rdma_bind_addr(l, (struct sockaddr *)&s) || rdma_listen(l, 4)) {
		printf("FATAL: cannot listen: %s\n", strerror(errno));
		return 2;
	}
	fcntl(ch->fd, F_SETFL, O_NONBLOCK);
	touch(argv[2]);
	for (i = 0; i < 1200 && stat(argv[3], &st); i++)
		usleep(100000);
	CHECK(!stat(argv[3], &st), "the attacker flooded");
	while (!rdma_get_cm_event(ch, &ev)) {
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			struct rdma_cm_id *id = ev->id;

			reqs++;
			rdma_ack_cm_event(ev);
			CHECK(!rdma_reject(id, NULL, 0), "reject");
			rdma_destroy_id(id);
		} else {
			others++;
			rdma_ack_cm_event(ev);
		}
	}
	CHECK(errno == EAGAIN, "no more events: EAGAIN");
	CHECK(reqs == 4, "exactly the backlog queued here: %d requests", reqs);
	CHECK(!others, "no other event: %d", others);
	touch(argv[4]);

	/* Our channel still works. */
	s.sin_port = htons(9);
	CHECK(!rdma_create_id(ch, &probe, NULL, RDMA_PS_TCP) &&
	      !rdma_resolve_addr(probe, NULL, (struct sockaddr *)&s, 100),
	      "resolve after the flood");
	{
		struct pollfd p = { .fd = ch->fd, .events = POLLIN };

		CHECK(poll(&p, 1, 5000) == 1 && !rdma_get_cm_event(ch, &ev) &&
		      ev->event == RDMA_CM_EVENT_ADDR_RESOLVED,
		      "ADDR_RESOLVED after the flood");
		if (!failed)
			rdma_ack_cm_event(ev);
	}
	rdma_destroy_id(probe);
	rdma_destroy_id(l);
	rdma_destroy_event_channel(ch);
	printf("cm_victim: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
