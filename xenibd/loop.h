/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The main loop's epoll registrations. */
#ifndef XENIBD_LOOP_H
#define XENIBD_LOOP_H

enum xd_ev_type {
	XD_EV_LISTEN = 1,	/* guest control socket: new context */
	XD_EV_CTX,		/* a context's control channel */
	XD_EV_DOORBELL,		/* a context's doorbell */
	XD_EV_ADMIN,		/* admin socket: new xenibctl client */
	XD_EV_ADMIN_CONN,	/* an xenibctl client */
	XD_EV_SIGNAL,		/* signalfd */
	XD_EV_EVTCHN,		/* Xen: the event-channel device (all ports) */
	XD_EV_XENSTORE,		/* Xen: xenstore watches */
};

/* epoll data: type in the top byte, pointer below. */
#define XD_EV_TYPE_SHIFT 56

/* Watch fd for input; ptr comes back with the event. 0 or errno. */
int xd_loop_watch(int fd, enum xd_ev_type type, void *ptr);
void xd_loop_unwatch(int fd);

#endif /* XENIBD_LOOP_H */
