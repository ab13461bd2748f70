// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: the relay thread, one per process.  It moves the
 * provider's control messages between their sockets and the mailboxes,
 * turns event-channel upcalls into notifier signals, and notices a resume
 * (our domid changes) to reconnect every context (resume.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "util/xen/xen.h"

struct xg_state xg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.once = PTHREAD_ONCE_INIT,
	.wake = { -1, -1 },
	.keeper_fd = -1,
	.conns = LIST_INIT(xg.conns),
};


/* ------------------------------------------------------------------ */
/* Relay thread                                                        */

static void relay_forward(struct xg_conn *c)
{
	ssize_t n;

	n = recv(c->relay_fd, c->pend, sizeof(c->pend), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The provider closed the context; it calls disconnect. */
		close(c->relay_fd);
		c->relay_fd = -1;
		return;
	}
	if ((size_t)n < sizeof(struct xenib_ctrl_hdr)) {
		xg_conn_dead(c, "short request from the provider");
		return;
	}
	c->pend_len = (uint32_t)n;
	c->pend_seq = ((struct xenib_ctrl_hdr *)c->pend)->seq;
	c->pending = true;
	if (!c->resuming && !c->dead)
		xg_mbox_post(c, c->pend, c->pend_len, c->pend_seq);
}

static void *relay_main(void *arg)
{
	struct pollfd pfd[64];
	struct xg_conn *who[64];
	struct list_node *p, *t;
	int n, i;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&xg.lock);
		pfd[0] = (struct pollfd){ .fd = xg.wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = xenevtchn_fd(xg_xce_now()),
					  .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = xs_fileno(xg.xs),
					  .events = POLLIN };
		n = 3;
		list_for_each_safe(p, t, &xg.conns) {
			struct xg_conn *c =
				list_entry(p, struct xg_conn, link);

			if (c->relay_fd < 0 || n == 64)
				continue;
			who[n] = c;
			pfd[n++] = (struct pollfd){ .fd = c->relay_fd,
						    .events = POLLIN };
		}
		pthread_mutex_unlock(&xg.lock);

		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;

		pthread_mutex_lock(&xg.lock);
		if (pfd[0].revents) {
			char b[64];

			while (read(xg.wake[0], b, sizeof(b)) > 0)
				;
		}
		if (pfd[2].revents) {
			unsigned int k;
			char **ev = xs_read_watch(xg.xs, &k);
			char *dom = xg_xs_get(xg.xs, "domid");

			free(ev);
			if (dom && *xg.domid && strcmp(dom, xg.domid))
				xg_resume_all(dom);
			free(dom);
		}
		if (pfd[1].revents)
			xg_drain_ports();
		for (i = 3; i < n; i++) {
			struct xg_conn *c = who[i];
			bool live = false;

			/* Still listed?  (a resume may have freed it) */
			list_for_each_safe(p, t, &xg.conns)
				if (p == &c->link)
					live = true;
			if (live && pfd[i].revents && c->relay_fd == pfd[i].fd)
				relay_forward(c);
		}
		pthread_mutex_unlock(&xg.lock);
	}
	return NULL;
}

void xg_init(void)
{
	pthread_t th;
	pthread_attr_t at;
	char *dom;
	int err;

	xg.xs = xs_open(0);
	if (!xg.xs) {
		xg.init_err = errno ? errno : ENODEV;
		return;
	}
	dom = xg_xs_get(xg.xs, "domid");
	if (!dom) {
		xg.init_err = ENODEV;
		return;
	}
	snprintf(xg.domid, sizeof(xg.domid), "%s", dom);
	free(dom);
	/* Fires again when the domain comes back from a save or migration. */
	if (!xs_watch(xg.xs, "domid", "xenib-resume")) {
		xg.init_err = errno ? errno : EIO;
		return;
	}
	xg.xce = xg_xce_open();
	if (!xg.xce) {
		xg.init_err = errno ? errno : ENODEV;
		return;
	}
	if (pipe2(xg.wake, O_CLOEXEC | O_NONBLOCK)) {
		xg.init_err = errno;
		return;
	}
	srand((unsigned int)getpid() ^ (unsigned int)time(NULL));
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &at, relay_main, NULL);
	pthread_attr_destroy(&at);
	if (err)
		xg.init_err = err;
}

void xg_wake_relay(void)
{
	char b = 1;

	if (write(xg.wake[1], &b, 1) < 0) {
		/* Full pipe: the relay is awake anyway. */
	}
}
