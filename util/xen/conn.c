// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: a context's connection (mailbox, control port,
 * handshake, the provider's end of a relayed control socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "util/xen/xen.h"

/*
 * Open a context on device devname ("xenibN"): handshake through
 * xenstore, then hand back the provider's end of the control socket,
 * which the relay thread connects to the mailbox.
 */
static int xen_connect(const char *devname, struct hv_conn **out, int *sock)
{
	struct xg_conn *c;
	struct xs_handle *h;
	unsigned int bdom, devidx;
	unsigned long v;
	char path[64], *end;
	int sv[2], err;

	if (strncmp(devname, "xenib", 5))
		return ENODEV;
	v = strtoul(devname + 5, &end, 10);
	if (end == devname + 5 || *end || v > UINT32_MAX)
		return ENODEV;
	devidx = (unsigned int)v;

	h = xs_open(0);
	if (!h)
		return errno ? errno : ENODEV;
	snprintf(path, sizeof(path), XENIB_XS_FRONT_DIR "/%u/backend-id",
		 devidx);
	err = xg_xs_uint(h, path, &bdom);
	xs_close(h);
	if (err)
		return ENODEV;

	pthread_once(&xg.once, xg_init);
	if (xg.init_err)
		return xg.init_err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->hv.ops = &hv_xen_guest_ops;
	c->devidx = devidx;
	c->relay_fd = -1;
	list_init(&c->regions);
	list_init(&c->notifies);
	list_init(&c->link);

	pthread_mutex_lock(&xg.lock);
	if (!xg.backend_domid)
		xg.backend_domid = bdom;
	err = bdom == xg.backend_domid ? xg_grant_init(bdom) : EXDEV;
	if (!err)
		err = xg_conn_transport(c, false);
	pthread_mutex_unlock(&xg.lock);
	if (!err)
		err = xg_handshake(c, NULL, XG_HANDSHAKE_MS);
	if (!err && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		err = errno;
	if (err) {
		if (c->mbox)
			munmap(c->mbox, XENIB_MBOX_PAGES * XENIB_PAGE_SIZE);
		xg_port_unbind(c->ctrl_port, c->ctrl_gen);
		xg_grant_free(&c->mbox_g);
		free(c);
		return err;
	}
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	c->relay_fd = sv[1];
	pthread_mutex_lock(&xg.lock);
	list_add_tail(&xg.conns, &c->link);
	pthread_mutex_unlock(&xg.lock);
	xg_wake_relay();
	*out = &c->hv;
	*sock = sv[0];
	return 0;
}

/* xg.lock held. */
void xg_free_conn(struct xg_conn *c)
{
	struct list_node *p, *t;
	struct xs_handle *h;
	char path[96];

	list_del(&c->link);
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	list_for_each_safe(p, t, &c->notifies) {
		struct xnotify *n = list_entry(p, struct xnotify, link);

		if (n->self_fd >= 0)
			close(n->self_fd);
		xg_port_unbind(n->port, n->gen);
		list_del(&n->link);
		free(n);
	}
	list_for_each_safe(p, t, &c->regions) {
		struct xg_grant *g = list_entry(p, struct xg_grant, link);

		list_del(&g->link);
		g->conn = NULL;
	}
	/* Unmapping clears frontend_alive and kicks the backend. */
	if (c->mbox)
		munmap(c->mbox, XENIB_MBOX_PAGES * XENIB_PAGE_SIZE);
	xg_port_unbind(c->ctrl_port, c->ctrl_gen);
	xg_grant_free(&c->mbox_g);
	h = xs_open(0);
	if (h) {
		snprintf(path, sizeof(path), XENIB_XS_FRONT_DIR "/%u/ctx/%u",
			 c->devidx, c->ctx_id);
		xs_rm(h, XBT_NULL, path);
		xs_close(h);
	}
	free(c);
}

/* Closing the provider's socket ends the context (the relay sees it). */
static void xen_disconnect(struct hv_conn *conn, int sock)
{
	struct xg_conn *c = conn ? to_xg(conn) : NULL;

	if (sock >= 0)
		close(sock);
	if (!c)
		return;
	pthread_mutex_lock(&xg.lock);
	if (c->resuming)
		c->free_me = true;
	else
		xg_free_conn(c);
	pthread_mutex_unlock(&xg.lock);
	xg_wake_relay();
}

static void xen_set_quiesce(struct hv_conn *conn, void (*fn)(void *, bool),
			    void *arg)
{
	struct xg_conn *c = to_xg(conn);

	pthread_mutex_lock(&xg.lock);
	c->quiesce = fn;
	c->qarg = arg;
	pthread_mutex_unlock(&xg.lock);
}

const struct hv_ops hv_xen_guest_ops = {
	.name = "xen",
	.present = xg_present,
	.discover = xg_discover,
	.where = xg_where,
	.node = xg_node,
	.connect = xen_connect,
	.disconnect = xen_disconnect,
	.set_quiesce = xen_set_quiesce,
	.shm_alloc = xg_shm_alloc,
	.shm_adopt = xg_shm_adopt,
	.shm_release = xg_shm_release,
	.region_publish = xg_region_publish,
	.region_done = xg_region_done,
	.notify_new = xg_notify_new,
	.notify_bound = xg_notify_bound,
	.notify_forget = xg_notify_forget,
	.kick = xg_kick,
};
