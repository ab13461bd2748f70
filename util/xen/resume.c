// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: reconnection after the domain was saved and
 * restored or migrated (xenib-abi.h, "RESUME").
 *
 * Resume and the domU kernel bug (../shared/xen-qemu/README.md): after a
 * restore the guest kernel BUG()s when a /dev/xen/evtchn port bound before
 * the suspend is unbound or its file released.  So pre-suspend event
 * channel handles are never closed and no port on them is ever unbound: we
 * open a new handle, and a keeper process holds the old descriptors so they
 * outlive the application (keeper_start()).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include "util/xen/xen.h"

/* ------------------------------------------------------------------ */
/* Resume                                                              */

/*
 * Keep the pre-resume event-channel fds open for ever (see the top): a
 * detached process that holds them and nothing else, /bin/sleep under the
 * name xenib-evtchn-keeper, deaf to the usual termination signals.  It
 * holds every fd of xg.poisoned, so the previous keeper can go: one keeper
 * per process that lived through a resume, a few hundred KiB, even after
 * the process has exited.  Held by a pidfd: the kill cannot reach another
 * process that reused the pid.
 */
static void keeper_start(void)
{
	pid_t pid, keeper = 0;
	int pfd[2], i, kfd;

	if (pipe2(pfd, O_CLOEXEC)) {
		xg_log("cannot start the event-channel keeper: %s",
		       strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		/* Async-signal-safe calls only from here on. */
		pid_t k = fork();

		if (k != 0) {
			if (write(pfd[1], &k, sizeof(k)) < 0)
				_exit(1);
			_exit(0);
		}
		setsid();
		signal(SIGHUP, SIG_IGN);	/* SIG_IGN survives exec */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close_range(0, ~0u, CLOSE_RANGE_CLOEXEC);
		for (i = 0; i < xg.npoisoned; i++)
			fcntl(xg.poisoned[i], F_SETFD, 0);
		execl("/bin/sleep", "xenib-evtchn-keeper", "infinity",
		      (char *)NULL);
		/* No sleep(1): hold everything, as this copy of us. */
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (pid > 0) {
		if (read(pfd[0], &keeper, sizeof(keeper)) != sizeof(keeper))
			keeper = 0;
		waitpid(pid, NULL, 0);
	}
	close(pfd[0]);
	if (keeper <= 0) {
		xg_log("cannot start the event-channel keeper: %s",
		       pid < 0 ? strerror(errno) : "fork failed");
		return;
	}
	kfd = pidfd_open(keeper, 0);
	if (kfd < 0) {
		/* The new one holds everything; the old one stays too. */
		xg_log("cannot hold the event-channel keeper: %s",
		       strerror(errno));
		return;
	}
	if (xg.keeper_fd >= 0) {
		pidfd_send_signal(xg.keeper_fd, SIGKILL, NULL, 0);
		close(xg.keeper_fd);
	}
	xg.keeper_fd = kfd;
}

static int resume_conn(struct xg_conn *c)
{
	struct list_node *p, *t;
	int err;

	/* 1. Same memory, fresh grants (rings quiesced by the provider). */
	pthread_mutex_unlock(&xg.lock);
	if (c->quiesce)
		c->quiesce(c->qarg, true);
	pthread_mutex_lock(&xg.lock);
	err = xg_conn_transport(c, true);
	list_for_each_safe(p, t, &c->regions) {
		struct xg_grant *g = list_entry(p, struct xg_grant, link);
		void *va = g->va;

		if (!err)
			err = xg_grant_map(g, &va, g->npages, true, true);
	}
	pthread_mutex_unlock(&xg.lock);
	if (c->quiesce)
		c->quiesce(c->qarg, false);
	pthread_mutex_lock(&xg.lock);
	if (err)
		return err;

	/* 2. New ports for every notifier. */
	list_for_each_safe(p, t, &c->notifies) {
		struct xnotify *n = list_entry(p, struct xnotify, link);

		err = xg_port_bind(&n->port, &n->gen);
		if (err)
			return err;
		if (n->kind == XENIB_NOTIFY_DOORBELL)
			__atomic_store_n(&c->doorbell_port, n->port,
					 __ATOMIC_RELEASE);
	}

	/* 3. Handshake with the old context's token, then rebind. */
	pthread_mutex_unlock(&xg.lock);
	err = xg_handshake(c, c->token, XG_RESUME_WAIT_MS);
	pthread_mutex_lock(&xg.lock);
	if (err)
		return err;
	list_for_each_safe(p, t, &c->regions) {
		struct xg_grant *g = list_entry(p, struct xg_grant, link);
		struct xenib_resume_region_req req;
		struct xg_grant dir = { 0 };
		void *dva;

		memset(&req, 0, sizeof(req));
		req.handle = g->handle;
		req.npages = g->npages;
		err = xg_grant_dir(g, &dir, &dva);
		if (err)
			return err;
		req.ref = dir.refs[0];
		err = xg_mbox_call(c, &req, sizeof(req),
				   XENIB_CMD_RESUME_REGION);
		munmap(dva, (size_t)dir.npages * XENIB_PAGE_SIZE);
		xg_grant_free(&dir);
		/* ENOENT: its UNMAP_REGION was in flight at the suspend. */
		if (err && err != ENOENT)
			return err;
	}
	list_for_each_safe(p, t, &c->notifies) {
		struct xnotify *n = list_entry(p, struct xnotify, link);
		struct xenib_resume_notify_req req;

		if (n->handle == XENIB_INVALID_HANDLE)
			continue;
		memset(&req, 0, sizeof(req));
		req.handle = n->handle;
		req.port = n->port;
		err = xg_mbox_call(c, &req, sizeof(req),
				   XENIB_CMD_RESUME_NOTIFY);
		if (err)
			return err;
	}
	{
		struct xenib_ctrl_hdr req;

		memset(&req, 0, sizeof(req));
		err = xg_mbox_call(c, &req, sizeof(req), XENIB_CMD_RESUME_DONE);
		if (err)
			return err;
	}
	/* The request in flight at the suspend: the backend answers it
	 * again if it had already handled it (same seq). */
	if (c->pending)
		xg_mbox_post(c, c->pend, c->pend_len, c->pend_seq);
	/* Wake whoever sleeps on a notifier: events may have been lost. */
	list_for_each_safe(p, t, &c->notifies) {
		struct xnotify *n = list_entry(p, struct xnotify, link);

		if (n->self_fd >= 0)
			hv_notify_signal(n->self_fd);
	}
	return 0;
}


void xg_resume_all(const char *new_domid)
{
	struct list_node *p, *t;
	xenevtchn_handle *nx;
	int err, *fds;

	xg_log("domain resumed as %s (was %s): reconnecting", new_domid,
	       xg.domid);
	nx = xg_xce_open();
	if (!nx) {
		xg_log("cannot open /dev/xen/evtchn after resume: %s",
		       strerror(errno));
		return;
	}
	fds = realloc(xg.poisoned, (xg.npoisoned + 1) * sizeof(*fds));
	if (fds) {
		xg.poisoned = fds;
		xg.poisoned[xg.npoisoned++] = xenevtchn_fd(xg.xce);
	} else {
		xg_log("out of memory: the keeper cannot hold the old "
		       "event-channel handle; this process must not exit");
	}
	/* The old handle is deliberately never closed (kernel bug). */
	__atomic_store_n(&xg.xce, nx, __ATOMIC_RELEASE);
	xg.gen++;
	snprintf(xg.domid, sizeof(xg.domid), "%s", new_domid);

	/* Marked first: disconnects during the resume are deferred. */
	list_for_each_safe(p, t, &xg.conns) {
		struct xg_conn *c = list_entry(p, struct xg_conn, link);

		c->resuming = c->resume_me = true;
	}
	list_for_each_safe(p, t, &xg.conns) {
		struct xg_conn *c = list_entry(p, struct xg_conn, link);

		if (!c->resume_me)
			continue;
		c->resume_me = false;
		if (!c->dead) {
			err = resume_conn(c);
			if (err)
				xg_conn_dead(c, "could not reconnect after "
					     "the resume");
			else
				xg_log("xenib%u: context reconnected",
				       c->devidx);
		}
		c->resuming = false;
		if (c->free_me)
			xg_free_conn(c);
	}
	keeper_start();
}
