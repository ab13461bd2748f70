// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd going away.  The control channel is a connected SEQPACKET socket:
 * when xenibd dies it hangs up (POLLHUP) at once, while the notifier
 * datagram sockets stay silent.  So every wait also watches the control
 * channel, and a poller checks it now and then; the first to see the
 * hang-up marks the device dead and queues IBV_EVENT_DEVICE_FATAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "xenib.h"

void xenib_backend_lost(struct xenib_context *ctx)
{
	if (__atomic_exchange_n(&ctx->backend_gone, true, __ATOMIC_ACQ_REL))
		return;
	xenib_err("%s: xenibd went away; the device is dead (DEVICE_FATAL)",
		  ctx->devname);
	/* Wake whoever waits on (or polls) the async fd. */
	hv_notify_signal(ctx->async_self);
}

bool xenib_backend_gone(struct xenib_context *ctx)
{
	struct pollfd p = { .fd = ctx->sock, .events = POLLRDHUP };

	if (__atomic_load_n(&ctx->backend_gone, __ATOMIC_ACQUIRE))
		return true;
	if (poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL))) {
		xenib_backend_lost(ctx);
		return true;
	}
	return false;
}

int xenib_notify_wait(struct xenib_context *ctx, int fd)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = ctx->sock, .events = POLLRDHUP },
	};
	char buf[64];
	ssize_t r;

	for (;;) {
		if (xenib_backend_gone(ctx))
			return EIO;
		/* O_NONBLOCK set by the application: never wait. */
		if (fcntl(fd, F_GETFL) & O_NONBLOCK)
			return hv_notify_wait(fd);
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return errno;
		if (p[1].revents)
			continue;	/* checked at the top */
		if (!(p[0].revents & POLLIN))
			continue;
		/* Another thread may have taken the signal: do not block. */
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			return 0;
		if (r == 0)
			return EPIPE;
		if (errno != EAGAIN && errno != EINTR)
			return errno;
	}
}
