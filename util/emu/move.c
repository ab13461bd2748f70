// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The embedded emulation, guest side: a context moving to another host's
 * backend (xenib-abi.h, "MOVE"; docs/migration.md, "What the guest sees").
 *
 * The relay (relay.c) has accepted a MOVE: it connects to the destination,
 * sends TAKEOVER with the token, RESUME_REGION for every region (its object
 * passed again, or its SysV segment named again: the destination maps the
 * very pages at the offset the snapshot carries, nothing is copied),
 * RESUME_NOTIFY for every notifier (the backend's end of a new socket
 * pair), the HV notifier last, then RESUME_DONE.  Only then are the new
 * fds put where the old ones were, with dup3(): the provider and the
 * application keep their fd numbers (completion channels, the async fd,
 * the doorbell, the control socket), each number switching from the old
 * file to the new one at once for every thread using it.
 *
 * A request the provider had in flight is sent again by the provider
 * itself (hv op hangup()); so that none is left behind or resumed twice,
 * the move first waits until the provider has no region or notifier
 * announcement half done (see settle()).
 *
 * A failure at any step leaves the context dead, as if its backend had
 * died: the old control socket is already shut down, so the provider's
 * next look at it (or hangup()) reports the device fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/emu/guest.h"

/* ------------------------------------------------------------------ */
/* The HV notifier                                                     */

void emu_hv_bind(struct emu_conn *c)
{
	struct xenib_bind_notify_req req;
	struct xenib_handle_resp resp;
	struct timespec dl;
	int g, b, err;

	err = emu_relay_start();
	if (err) {
		emu_dbg("%s: no relay thread (%s): this context cannot move",
			c->dev, strerror(err));
		return;
	}
	err = hv_notify_pair(&g, &b);
	if (err) {
		emu_dbg("%s: no HV notifier (%s): this context cannot move",
			c->dev, strerror(err));
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = XENIB_NOTIFY_HV;
	dl = emu_deadline(emu.timeout_ms);
	/* The provider holds its channel (region_done): nothing interleaves. */
	err = emu_call(c->sock, EMU_RELAY_SEQ | ++c->relay_seq,
		       XENIB_CMD_BIND_NOTIFY, &req, sizeof(req), b, &resp,
		       sizeof(resp), &dl);
	close(b);
	if (err) {
		/* An older xenibd does not know the kind (EINVAL). */
		close(g);
		emu_dbg("%s: the backend did not bind an HV notifier (%s): this context cannot move",
			c->dev, strerror(err));
		return;
	}
	pthread_mutex_lock(&emu.lock);
	c->hv_fd = g;
	c->hv_handle = resp.handle;
	list_add_tail(&emu.conns, &c->link);
	c->listed = true;
	pthread_mutex_unlock(&emu.lock);
	emu_wake_relay();
	emu_dbg("%s: HV notifier %u bound", c->dev, resp.handle);
}

/* ------------------------------------------------------------------ */
/* Reconnection                                                        */

/*
 * Wait until the destination can be told every region and notifier the
 * source knows.  The provider announces one under its control lock,
 * from region_publish/notify_new to region_done/notify_bound, around the
 * request.  Since the old socket is shut down, that request returns at
 * once: answered (the source executed it; done() follows, and the books
 * have it), or not (the provider asks hangup() with UNANSWERED before
 * sending it again: the source never executed it, nor any announcement
 * still waiting for the control lock).
 */
static int settle(struct emu_conn *c, const struct timespec *dl)
{
	while (!c->gone && c->publishing && !c->unanswered)
		if (pthread_cond_timedwait(&emu.cond, &emu.lock, dl) ==
		    ETIMEDOUT)
			return ETIMEDOUT;
	return 0;
}

static int call(struct emu_conn *c, int sock, uint16_t op, void *req,
		size_t len, int pass_fd, const struct timespec *dl)
{
	struct xenib_ctrl_hdr resp;

	return emu_call(sock, EMU_RELAY_SEQ | ++c->relay_seq, op, req, len,
			pass_fd, &resp, sizeof(resp), dl);
}

static int dest_connect(const char *path, const struct timespec *dl)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, err;

	/* move_check() made sure path fits with its NUL. */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	while (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		/* EAGAIN: its backlog is full; try again until the deadline. */
		if ((err != EAGAIN && err != EINTR) || !emu_ms_left(dl)) {
			close(s);
			return -(err == EAGAIN ? ETIMEDOUT : err);
		}
		poll(NULL, 0, 10);
	}
	return s;
}

static void close_new(struct emu_conn *c)
{
	struct list_node *p;

	list_for_each(p, &c->notifies) {
		struct emu_notify *n = list_entry(p, struct emu_notify, link);

		if (n->new_guest >= 0)
			close(n->new_guest);
		if (n->new_back >= 0)
			close(n->new_back);
		n->new_guest = n->new_back = -1;
	}
}

/*
 * TAKEOVER, RESUME_REGION*, RESUME_NOTIFY* (HV last), RESUME_DONE on a
 * new connection *sock.  0, or an errno and *why.
 */
static int resume(struct emu_conn *c, const struct timespec *dl, int *sock,
		  int *hv_new, const char **why)
{
	struct xenib_resume_notify_req nreq;
	struct xenib_takeover_req treq;
	struct xenib_ctrl_hdr done;
	struct list_node *p;
	int s, err, hb;

	s = dest_connect(c->move.path, dl);
	if (s < 0) {
		*why = "cannot connect to the destination";
		return -s;
	}
	*sock = s;

	memset(&treq, 0, sizeof(treq));
	treq.abi_version = XENIB_ABI_VERSION;
	memcpy(treq.token, c->move.token, sizeof(treq.token));
	memcpy(treq.guest_name, c->guest, sizeof(treq.guest_name));
	err = call(c, s, XENIB_CMD_TAKEOVER, &treq, sizeof(treq), -1, dl);
	if (err) {
		*why = "TAKEOVER failed";
		return err;
	}

	list_for_each(p, &c->regions) {
		struct emu_region *r = list_entry(p, struct emu_region, link);
		struct xenib_resume_region_req rreq;

		memset(&rreq, 0, sizeof(rreq));
		rreq.handle = r->handle;
		rreq.npages = r->npages;
		/* As MAP_REGION named it: the object's fd, or a SysV id. */
		if (r->fd < 0)
			rreq.ref = (uint64_t)r->shmid;
		err = call(c, s, XENIB_CMD_RESUME_REGION, &rreq, sizeof(rreq),
			   r->fd, dl);
		/* ENOENT: its UNMAP_REGION reached the source before the
		 * freeze; the provider forgets it right away. */
		if (err == ENOENT) {
			emu_dbg("%s: region %u gone at the destination",
				c->dev, r->handle);
			continue;
		}
		if (err) {
			*why = "RESUME_REGION failed";
			return err;
		}
	}

	list_for_each(p, &c->notifies) {
		struct emu_notify *n = list_entry(p, struct emu_notify, link);

		err = hv_notify_pair(&n->new_guest, &n->new_back);
		if (err) {
			*why = "no notifier pair";
			return err;
		}
		memset(&nreq, 0, sizeof(nreq));
		nreq.handle = n->handle;
		err = call(c, s, XENIB_CMD_RESUME_NOTIFY, &nreq, sizeof(nreq),
			   n->new_back, dl);
		if (err == ENOENT) {	/* unbound just before the freeze */
			emu_dbg("%s: notifier %u gone at the destination",
				c->dev, n->handle);
			close(n->new_guest);
			close(n->new_back);
			n->new_guest = n->new_back = -1;
			continue;
		}
		if (err) {
			*why = "RESUME_NOTIFY failed";
			return err;
		}
	}

	/* The HV notifier last: the destination's MOVE channel from now. */
	err = hv_notify_pair(hv_new, &hb);
	if (err) {
		*why = "no notifier pair";
		return err;
	}
	memset(&nreq, 0, sizeof(nreq));
	nreq.handle = c->hv_handle;
	err = call(c, s, XENIB_CMD_RESUME_NOTIFY, &nreq, sizeof(nreq), hb, dl);
	close(hb);
	if (err) {
		*why = "RESUME_NOTIFY of the HV notifier failed";
		return err;
	}

	memset(&done, 0, sizeof(done));
	err = call(c, s, XENIB_CMD_RESUME_DONE, &done, sizeof(done), -1, dl);
	if (err)
		*why = "RESUME_DONE failed";
	return err;
}

/*
 * Put newfd where num is: same number, the old file's close-on-exec and
 * O_NONBLOCK (an application may have set either on its channel fd).
 */
static void swap_fd(int newfd, int num)
{
	int fdfl = fcntl(num, F_GETFD), fl = fcntl(num, F_GETFL);
	int nfl = fcntl(newfd, F_GETFL);

	if (fl >= 0 && nfl >= 0)
		fcntl(newfd, F_SETFL, (nfl & ~O_NONBLOCK) | (fl & O_NONBLOCK));
	if (dup3(newfd, num, fdfl >= 0 && !(fdfl & FD_CLOEXEC) ? 0 :
			     O_CLOEXEC) < 0)
		emu_err("cannot put a new fd at %d after a move: %s", num,
			strerror(errno));
}

/*
 * An event notifier (completion channel, async events): the caller's
 * self end first, so its own re-signals reach the new pair; then our end.
 * Signals still queued in the old pair (raised before the freeze, or by
 * the provider meanwhile) are carried over, and whoever polls the old
 * file is woken up (shutdown) to look again at the same number.
 */
static void swap_event_notify(struct emu_notify *n)
{
	int old = fcntl(n->guest_fd, F_DUPFD_CLOEXEC, 0);
	uint64_t pend = 0;

	swap_fd(n->new_back, n->self_fd);
	if (old >= 0)
		pend = hv_notify_drain(old);
	swap_fd(n->new_guest, n->guest_fd);
	if (old >= 0) {
		pend += hv_notify_drain(old);
		shutdown(old, SHUT_RDWR);
		close(old);
	} else {
		pend = 1;	/* cannot tell: a spurious wake-up is safe */
	}
	if (pend)
		hv_notify_signal(n->self_fd);
}

/* emu.lock held: every new fd where its old one was. */
static void swap_all(struct emu_conn *c, int sock, int hv_new)
{
	struct list_node *p;

	list_for_each(p, &c->notifies) {
		struct emu_notify *n = list_entry(p, struct emu_notify, link);

		if (n->new_guest < 0)
			continue;
		if (n->self_fd >= 0)
			swap_event_notify(n);
		else
			swap_fd(n->new_guest, n->guest_fd);	/* doorbell */
	}
	close_new(c);
	if (c->hv_fd >= 0)
		close(c->hv_fd);
	c->hv_fd = hv_new;
	/* Last: the provider's next request goes to the destination. */
	swap_fd(sock, c->sock);
	close(sock);
}

/* emu.lock held: wake whoever waits on c's event fds (they see EIO). */
static void wake_all(struct emu_conn *c)
{
	struct list_node *p;

	list_for_each(p, &c->notifies) {
		struct emu_notify *n = list_entry(p, struct emu_notify, link);

		if (n->self_fd >= 0)
			hv_notify_signal(n->self_fd);
	}
}

void emu_move_run(struct emu_conn *c)
{
	struct timespec dl = emu_deadline(emu.timeout_ms);
	const char *why = "the provider did not settle";
	int err, sock = -1, hv_new = -1;

	c->mstate = EMU_MOVING;
	emu_dbg("%s: moving to %s", c->dev, c->move.path);
	if (c->unmovable) {
		why = "its books are incomplete";
		err = ENOMEM;
	} else {
		err = settle(c, &dl);
	}
	/*
	 * emu.lock stays held from here on: the books cannot change under
	 * the requests, and nobody closes a number we are about to reuse.
	 */
	if (!err && !c->gone)
		err = resume(c, &dl, &sock, &hv_new, &why);
	if (!err && !c->gone) {
		swap_all(c, sock, hv_new);
		c->moves++;
		c->mstate = EMU_IDLE;
		pthread_cond_broadcast(&emu.cond);
		emu_dbg("%s: moved to %s (move %u)", c->dev, c->move.path,
			c->moves);
		return;
	}
	close_new(c);
	if (sock >= 0)
		close(sock);
	if (hv_new >= 0)
		close(hv_new);
	if (c->gone) {
		/* The provider let go meanwhile (disconnect). */
		if (c->listed)
			list_del(&c->link);
		emu_conn_free(c);
		return;
	}
	c->dead = true;
	c->mstate = EMU_IDLE;
	emu_err("%s: the context could not move to %s: %s: %s; the device is dead",
		c->dev, c->move.path, why, strerror(err));
	wake_all(c);
	pthread_cond_broadcast(&emu.cond);
}
