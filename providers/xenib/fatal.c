// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd going away.  The control channel is a connected SEQPACKET socket:
 * when xenibd dies it hangs up (POLLHUP) at once, while the notifier
 * datagram sockets stay silent.  So every wait also watches the control
 * channel, and a poller checks it now and then; the first to see the
 * hang-up marks the device dead and queues IBV_EVENT_DEVICE_FATAL.
 *
 * Where contexts move between backends (the emulation's MOVE), a hang-up
 * may be the old backend letting go: the hypervisor layer answers that
 * (hv_ops.hangup), and a moved context carries on with the same fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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

/*
 * The control channel hung up.  Unless the hypervisor says the context
 * moved to another backend (util/hv_guest.h, hangup; then ctx->sock
 * reaches that one), xenibd is gone.  wait: for a move under way to end;
 * else a move under way counts as not gone (yet).
 */
static bool gone_check(struct xenib_context *ctx, bool wait)
{
	struct pollfd p = { .fd = ctx->sock, .events = POLLRDHUP };
	int err;

	if (__atomic_load_n(&ctx->backend_gone, __ATOMIC_ACQUIRE))
		return true;
	if (poll(&p, 1, 0) != 1 ||
	    !(p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)))
		return false;
	if (ctx->hv->hangup) {
		err = ctx->hv->hangup(ctx->hvc, ctx->sock,
				      wait ? 0 : HV_HANGUP_NOWAIT);
		if (!err || err == EINPROGRESS)
			return false;
	}
	xenib_backend_lost(ctx);
	return true;
}

/* Never waits: ibv_poll_cq() asks with the CQ's lock held. */
bool xenib_backend_gone(struct xenib_context *ctx)
{
	return gone_check(ctx, false);
}

/*
 * A signal handler ran while we waited.  The kernel's verbs read their
 * event fds with an interruptible wait: a handler installed with
 * SA_RESTART restarts the read, any other makes ibv_get_cq_event and
 * ibv_get_async_event fail with EINTR, which programs rely on (qperf ends
 * a test with SIGALRM, no SA_RESTART, and a server blocked for a
 * completion that will not come must return then).  poll() never restarts
 * and does not say which signal it was: EINTR if a signal this thread does
 * not block has a handler without SA_RESTART, else wait on.
 */
static bool eintr_reported(void)
{
	struct sigaction sa;
	sigset_t blocked;
	int s;

	if (pthread_sigmask(SIG_BLOCK, NULL, &blocked))
		return true;
	for (s = 1; s < NSIG; s++) {
		/* glibc's own signals: EINVAL, never a program's handler. */
		if (sigismember(&blocked, s) == 1 || sigaction(s, NULL, &sa))
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
		    !(sa.sa_flags & SA_RESTART))
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
		if (gone_check(ctx, true))
			return EIO;
		/* O_NONBLOCK set by the application: never wait. */
		if (fcntl(fd, F_GETFL) & O_NONBLOCK)
			return hv_notify_wait(fd);
		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				return errno;
			if (eintr_reported())
				return EINTR;
			continue;
		}
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
