// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The backend's global state and its epoll registrations. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "xenibd/xenibd.h"
#include "xenibd/loop.h"

struct xd_state xd;

int xd_loop_watch(int fd, enum xd_ev_type type, void *ptr)
{
	struct epoll_event ev = {
		.events = EPOLLIN,
		.data.u64 = ((uint64_t)type << XD_EV_TYPE_SHIFT) | (uintptr_t)ptr,
	};

	if (xd.epfd <= 0)
		return 0;	/* no loop (unit tests, fuzzers) */
	return epoll_ctl(xd.epfd, EPOLL_CTL_ADD, fd, &ev) ? errno : 0;
}

void xd_loop_unwatch(int fd)
{
	if (xd.epfd > 0)
		epoll_ctl(xd.epfd, EPOLL_CTL_DEL, fd, NULL);
}

int xd_state_init(void)
{
	xd.guests = calloc(xd.cfg.max_guests, sizeof(*xd.guests));
	if (!xd.guests)
		return ENOMEM;
	list_init(&xd.ctxs);
	list_init(&xd.qps);
	xd_table_init(&xd.regions, "regions", 1u << 20);
	xd_table_init(&xd.notifies, "notifiers", 1u << 16);
	xd_table_init(&xd.pds, "pds", 1u << 16);
	xd_table_init(&xd.mrs, "mrs", 1u << 20);
	xd_table_init(&xd.cqs, "cqs", 1u << 16);
	xd_table_init(&xd.qpt, "qps", (1u << 16) - 1);	/* 24-bit QPNs */
	xd_table_init(&xd.srqs, "srqs", (1u << 16) - 1);	/* 24-bit SRQNs */
	xd_table_init(&xd.ahs, "ahs", 1u << 20);
	xd_table_init(&xd.xrcds, "xrcds", 1u << 16);
	return 0;
}
