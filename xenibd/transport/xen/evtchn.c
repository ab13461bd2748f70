// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Event channels: every local port xenibd bound is either a context's
 * control channel (its mailbox has a request) or a doorbell (the guest
 * kicked us awake).  One table maps ports to what they belong to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/transport/xen/xen.h"

enum { XP_NONE, XP_CTRL, XP_DOORBELL };

struct xd_port {
	uint8_t type;
	void *ptr;
};

static struct xd_port *ports;
static uint32_t nports;

static int port_set(uint32_t p, uint8_t type, void *ptr)
{
	if (p >= XD_XEN_MAX_PORT)
		return EINVAL;
	if (p >= nports) {
		uint32_t n = nports ? nports : 64;
		struct xd_port *np;

		while (n <= p)
			n *= 2;
		np = realloc(ports, n * sizeof(*np));
		if (!np)
			return ENOMEM;
		memset(np + nports, 0, (n - nports) * sizeof(*np));
		ports = np;
		nports = n;
	}
	ports[p].type = type;
	ports[p].ptr = ptr;
	return 0;
}

int xd_xen_port_ctrl(uint32_t p, struct xd_ctx *ctx)
{
	return port_set(p, XP_CTRL, ctx);
}

int xd_xen_port_doorbell(uint32_t p, struct xd_notify *n)
{
	return port_set(p, XP_DOORBELL, n);
}

void xd_xen_port_clear(uint32_t p)
{
	if (p < nports) {
		ports[p].type = XP_NONE;
		ports[p].ptr = NULL;
	}
}

void xd_xen_evtchn_ready(void)
{
	int i, p;

	/* Bounded per call, like every other source of the loop. */
	for (i = 0; i < 256 && (p = xd_hv->pending()) >= 0; i++) {
		struct xd_port e = (uint32_t)p < nports ? ports[p] :
							  (struct xd_port){ 0 };

		/* Unmask first: an event during the handling is not lost. */
		xd_hv->unmask(p);
		if (e.type == XP_CTRL)
			xd_xen_mbox_event(e.ptr);
		else if (e.type == XP_DOORBELL)	/* waking us was the point */
			xd_notify_doorbell(e.ptr, 1);
	}
}

void xd_xen_ports_fini(void)
{
	free(ports);
	ports = NULL;
	nports = 0;
}
