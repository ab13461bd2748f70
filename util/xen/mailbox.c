// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: the control mailbox (three granted pages, the
 * request and response of xenib-abi.h "Real Xen transport") and the
 * event-channel ports of the process's current handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "util/xenib_ring.h"

#include "util/xen/xen.h"

/* ------------------------------------------------------------------ */
/* Mailbox                                                             */

static void *mbox_req(struct xg_conn *c)
{
	return (char *)c->mbox + XENIB_PAGE_SIZE;
}

static void *mbox_resp(struct xg_conn *c)
{
	return (char *)c->mbox + 2 * XENIB_PAGE_SIZE;
}

/*
 * A new event-channel handle whose fd never blocks: xenevtchn_pending() is
 * a read() of that fd, and the relay drains it until EAGAIN.  NULL + errno.
 */
xenevtchn_handle *xg_xce_open(void)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	int fl;

	if (!xce)
		return NULL;
	fl = fcntl(xenevtchn_fd(xce), F_GETFL);
	if (fl < 0 || fcntl(xenevtchn_fd(xce), F_SETFL, fl | O_NONBLOCK)) {
		int err = errno;

		xenevtchn_close(xce);
		errno = err;
		return NULL;
	}
	return xce;
}

int xg_port_bind(uint32_t *port, unsigned int *gen)
{
	xenevtchn_port_or_error_t p;

	p = xenevtchn_bind_unbound_port(xg_xce_now(), xg.backend_domid);
	if (p < 0)
		return errno ? errno : EIO;
	*port = (uint32_t)p;
	*gen = xg.gen;
	return 0;
}

void xg_port_unbind(uint32_t port, unsigned int gen)
{
	if (port && gen == xg.gen)
		xenevtchn_unbind(xg_xce_now(), port);
}

/* xg.lock held.  Put a request in the mailbox and ring. */
void xg_mbox_post(struct xg_conn *c, const void *msg, uint32_t len,
		  uint32_t seq)
{
	memcpy(mbox_req(c), msg, len);
	c->mbox->req_len = len;
	/* req_seq: we produce, the backend consumes. */
	xr_store_release(&c->mbox->req_seq, seq);
	xenevtchn_notify(xg_xce_now(), c->ctrl_port);
}

void xg_conn_dead(struct xg_conn *c, const char *why)
{
	if (c->dead)
		return;
	xg_log("xenib%u: lost xenibd (%s)", c->devidx, why);
	c->dead = true;
	if (c->relay_fd >= 0) {
		/* The provider sees the hang-up: DEVICE_FATAL, EIO. */
		close(c->relay_fd);
		c->relay_fd = -1;
	}
}

/* xg.lock held.  An event on a control port. */
static void conn_ctrl_event(struct xg_conn *c)
{
	uint32_t len;

	if (c->dead || c->resuming)
		return;
	/* resp_seq: the backend produces, we consume. */
	if (c->pending && xr_load_acquire(&c->mbox->resp_seq) == c->pend_seq) {
		len = c->mbox->resp_len;
		if (len < sizeof(struct xenib_ctrl_hdr) ||
		    len > XENIB_CTRL_MAX_MSG) {
			xg_conn_dead(c, "malformed response length");
			return;
		}
		c->pending = false;
		if (send(c->relay_fd, mbox_resp(c), len,
			 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			xg_conn_dead(c, "provider socket");
		return;
	}
	if (!__atomic_load_n(&c->mbox->backend_alive, __ATOMIC_ACQUIRE))
		xg_conn_dead(c, "its mapping of the mailbox went away");
}

/* xg.lock held.  Dispatch one pending port. */
void xg_dispatch_port(uint32_t port)
{
	struct list_node *pc, *tc, *pn, *tn;

	list_for_each_safe(pc, tc, &xg.conns) {
		struct xg_conn *c = list_entry(pc, struct xg_conn, link);

		if (xg_port_is(c->ctrl_port, c->ctrl_gen, port)) {
			conn_ctrl_event(c);
			return;
		}
		list_for_each_safe(pn, tn, &c->notifies) {
			struct xnotify *x = list_entry(pn, struct xnotify,
						       link);

			if (xg_port_is(x->port, x->gen, port) &&
			    x->self_fd >= 0) {
				hv_notify_signal(x->self_fd);
				return;
			}
		}
	}
}

void xg_drain_ports(void)
{
	xenevtchn_handle *xce = xg_xce_now();
	xenevtchn_port_or_error_t p;

	while ((p = xenevtchn_pending(xce)) >= 0) {
		xenevtchn_unmask(xce, (evtchn_port_t)p);
		xg_dispatch_port((uint32_t)p);
	}
}

/*
 * xg.lock held; relay thread.  One request made by the relay itself
 * (resume), answered synchronously.  Other ports are served meanwhile.
 */
int xg_mbox_call(struct xg_conn *c, void *req, uint32_t len,
		 uint16_t opcode)
{
	struct xenib_ctrl_hdr *h = req;
	uint32_t seq = 0x80000000u | ++c->relay_seq;
	struct pollfd p;
	int waited = 0;

	h->opcode = opcode;
	h->flags = XG_RESUME_FLAG;
	h->length = len;
	h->seq = seq;
	h->status = 0;
	xg_mbox_post(c, req, len, seq);
	p.fd = xenevtchn_fd(xg_xce_now());
	p.events = POLLIN;
	while (waited < XG_CALL_MS) {
		if (xr_load_acquire(&c->mbox->resp_seq) == seq) {
			struct xenib_ctrl_hdr *r = mbox_resp(c);

			return r->status ? (int)(r->status & 0xfff) : 0;
		}
		if (poll(&p, 1, 50) > 0) {
			xenevtchn_handle *xce = xg_xce_now();
			xenevtchn_port_or_error_t port;

			while ((port = xenevtchn_pending(xce)) >= 0) {
				xenevtchn_unmask(xce, (evtchn_port_t)port);
				if (!xg_port_is(c->ctrl_port, c->ctrl_gen,
						(uint32_t)port))
					xg_dispatch_port((uint32_t)port);
			}
		}
		waited += 50;
	}
	return ETIMEDOUT;
}

/* Mailbox pages and control port for c (new, or anew after a resume). */
int xg_conn_transport(struct xg_conn *c, bool regrant)
{
	void *va = regrant ? (void *)c->mbox : NULL;
	int err;

	err = xg_port_bind(&c->ctrl_port, &c->ctrl_gen);
	if (err)
		return err;
	/* Our process dying clears frontend_alive (xenibd looks). */
	err = xg_grant_map_notify(&c->mbox_g, &va, XENIB_MBOX_PAGES, regrant,
				  true, XENIB_MBOX_FRONT_ALIVE_OFF);
	if (err)
		return err;
	c->mbox = va;
	__atomic_store_n(&c->mbox->frontend_alive, 1, __ATOMIC_RELEASE);
	return 0;
}
