// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: notifiers are event channels.  For backend ->
 * guest kinds the relay signals the provider's notifier socket pair; the
 * doorbell is kicked directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/xen/xen.h"

/*
 * A new event channel for the backend (n->port).  For backend -> guest
 * kinds the relay signals n->self_fd, the peer of n->guest_fd, whenever
 * the backend notifies; the doorbell has no fds: xg_kick() rings it.
 */
int xg_notify_new(struct hv_conn *conn, uint32_t kind, struct hv_notifier *n)
{
	struct xg_conn *c = to_xg(conn);
	int gfd = -1, bfd = -1, err;
	struct xnotify *x;

	x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	if (kind != XENIB_NOTIFY_DOORBELL) {
		err = hv_notify_pair(&gfd, &bfd);
		if (err) {
			free(x);
			return err;
		}
		x->self_fd = dup(bfd);
		if (x->self_fd < 0) {
			err = errno;
			close(gfd);
			close(bfd);
			free(x);
			return err;
		}
	} else {
		x->self_fd = -1;
	}
	pthread_mutex_lock(&xg.lock);
	err = xg_port_bind(&x->port, &x->gen);
	if (err) {
		pthread_mutex_unlock(&xg.lock);
		if (x->self_fd >= 0) {
			close(x->self_fd);
			close(gfd);
			close(bfd);
		}
		free(x);
		return err;
	}
	x->kind = kind;
	x->handle = XENIB_INVALID_HANDLE;
	list_add_tail(&c->notifies, &x->link);
	pthread_mutex_unlock(&xg.lock);
	n->kind = kind;
	n->guest_fd = gfd;
	n->self_fd = bfd;
	n->pass_fd = -1;
	n->port = x->port;
	return 0;
}

static struct xnotify *find_notify(struct xg_conn *c, bool by_port,
				   uint32_t v)
{
	struct list_node *p, *t;

	list_for_each_safe(p, t, &c->notifies) {
		struct xnotify *x = list_entry(p, struct xnotify, link);

		if (by_port ? xg_port_is(x->port, x->gen, v) : x->handle == v)
			return x;
	}
	return NULL;
}

static void drop_notify(struct xnotify *x)
{
	list_del(&x->link);
	if (x->self_fd >= 0)
		close(x->self_fd);
	xg_port_unbind(x->port, x->gen);
	free(x);
}

/* Record the binding, or undo everything of a failed one. */
void xg_notify_bound(struct hv_conn *conn, struct hv_notifier *n,
		     uint32_t handle)
{
	struct xg_conn *c = to_xg(conn);
	struct xnotify *x;

	pthread_mutex_lock(&xg.lock);
	x = find_notify(c, true, n->port);
	if (x && handle == XENIB_INVALID_HANDLE) {
		drop_notify(x);
	} else if (x) {
		x->handle = handle;
		if (x->kind == XENIB_NOTIFY_DOORBELL)
			__atomic_store_n(&c->doorbell_port, n->port,
					 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&xg.lock);
	if (handle == XENIB_INVALID_HANDLE) {
		if (n->guest_fd >= 0)
			close(n->guest_fd);
		if (n->self_fd >= 0)
			close(n->self_fd);
		n->guest_fd = n->self_fd = -1;
	}
}

/* The provider unbound notifier handle (its fds stay the caller's). */
void xg_notify_forget(struct hv_conn *conn, uint32_t handle)
{
	struct xg_conn *c = to_xg(conn);
	struct xnotify *x;

	pthread_mutex_lock(&xg.lock);
	x = find_notify(c, false, handle);
	if (x)
		drop_notify(x);
	pthread_mutex_unlock(&xg.lock);
}

/* The doorbell's current port (it changes at a resume); never blocks. */
void xg_kick(struct hv_conn *conn)
{
	struct xg_conn *c = to_xg(conn);
	uint32_t port = __atomic_load_n(&c->doorbell_port, __ATOMIC_ACQUIRE);

	if (port)
		xenevtchn_notify(xg_xce_now(), port);
}
