// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The embedded emulation, guest side: the relay thread, one per process,
 * started with the first context whose backend took its HV notifier.  It
 * polls every such notifier for the MOVE datagram the source backend sends
 * when it hands the context over (xenib-abi.h, "MOVE"), and runs the move
 * (move.c).
 *
 * The source sends MOVE, then closes the context's control socket.  So a
 * provider thread can see the hang-up before the relay has read the MOVE:
 * hangup() (the hv op the provider asks when its control channel hangs
 * up) therefore takes the MOVE datagrams still queued itself, and waits
 * for the move to end.  A hang-up with no MOVE queued and none under way
 * is the backend's death, as before.
 *
 * Accepting a MOVE shuts our end of the old control socket down: a
 * provider request blocked on it returns at once, with its answer if the
 * source had sent one (queued data is read before the end of file), else
 * with the end of file, and is then sent again to the destination.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/emu/guest.h"

struct emu_state emu = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.once = PTHREAD_ONCE_INIT,
	.wake = { -1, -1 },
	.conns = LIST_INIT(emu.conns),
	.timeout_ms = EMU_MOVE_TIMEOUT_MS,
};

static pid_t relay_pid;		/* the process whose relay runs (emu.lock) */

/* A MOVE's path must fit where connect() takes it. */
_Static_assert(sizeof(((struct xenib_emu_move *)0)->path) <=
	       sizeof(((struct sockaddr_un *)0)->sun_path),
	       "MOVE path larger than sun_path");

/*
 * fork(): the child must not inherit emu.lock held, nor take the parent's
 * MOVEs (its copies of the HV notifiers are the same sockets).  Contexts
 * it inherited are not its own to move; its own get a relay of its own.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&emu.lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&emu.lock);
}

static void fork_child(void)
{
	struct list_node *p, *t;

	list_for_each_safe(p, t, &emu.conns) {
		struct emu_conn *c = list_entry(p, struct emu_conn, link);

		list_del(&c->link);
		c->listed = false;
		if (c->hv_fd >= 0)
			close(c->hv_fd);
		c->hv_fd = -1;
		c->mstate = EMU_IDLE;
		c->dead = true;
	}
	if (emu.wake[0] >= 0) {
		close(emu.wake[0]);
		close(emu.wake[1]);
	}
	emu.wake[0] = emu.wake[1] = -1;
	relay_pid = 0;
	pthread_mutex_unlock(&emu.lock);
}

static void init_once(void)
{
	const char *dbg = getenv("XENIB_DEBUG");
	const char *to = getenv("XENIB_EMU_MOVE_TIMEOUT_MS");
	pthread_condattr_t ca;

	emu.debug = dbg && *dbg && strcmp(dbg, "0");
	if (to && *to) {
		char *end;
		long v = strtol(to, &end, 10);

		if (!*end && v > 0 && v <= 600000)
			emu.timeout_ms = (int)v;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&emu.cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void emu_init(void)
{
	pthread_once(&emu.once, init_once);
}

void emu_wake_relay(void)
{
	char b = 1;

	if (emu.wake[1] >= 0 && write(emu.wake[1], &b, 1) < 0) {
		/* Full pipe: the relay is awake anyway. */
	}
}

/* Why m (n bytes) is not a MOVE we can follow, or NULL. */
static const char *move_check(const struct xenib_emu_move *m, ssize_t n)
{
	if (n != (ssize_t)sizeof(*m))
		return "wrong size";
	if (m->magic != XENIB_EMU_MOVE_MAGIC)
		return "bad magic";
	if (!memchr(m->token, 0, sizeof(m->token)) || !m->token[0])
		return "token empty or not NUL-terminated";
	if (!memchr(m->path, 0, sizeof(m->path)) || !m->path[0])
		return "path empty or not NUL-terminated";
	return NULL;
}

/* Datagrams taken per look: a flood cannot keep the relay busy. */
#define INTAKE_MAX 64

void emu_move_intake(struct emu_conn *c)
{
	union {
		struct xenib_emu_move m;
		char bytes[sizeof(struct xenib_emu_move) + 1];
	} u;
	const char *why;
	ssize_t n;
	int i;

	for (i = 0; i < INTAKE_MAX && c->hv_fd >= 0; i++) {
		/* MSG_TRUNC: the datagram's real length, to refuse longer. */
		n = recv(c->hv_fd, &u, sizeof(u), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		why = move_check(&u.m, n);
		if (why) {
			emu_dbg("%s: ignoring a malformed MOVE (%zd bytes): %s",
				c->dev, n, why);
			continue;
		}
		if (c->mstate != EMU_IDLE || c->dead) {
			emu_dbg("%s: ignoring a MOVE to %s: %s", c->dev,
				u.m.path, c->dead ? "the context is dead" :
						    "a move is under way");
			continue;
		}
		c->move = u.m;
		c->mstate = EMU_PENDING;
		emu_dbg("%s: MOVE to %s", c->dev, c->move.path);
		/* Wake a request blocked on the old channel (see the top). */
		shutdown(c->sock, SHUT_RDWR);
		pthread_cond_broadcast(&emu.cond);
		emu_wake_relay();
	}
}

/* The control socket has not hung up (a move put a new one there). */
static bool sock_alive(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLRDHUP };

	if (poll(&p, 1, 0) != 1)
		return true;
	return !(p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL));
}

int emu_hangup(struct hv_conn *conn, int sock, unsigned int flags)
{
	struct emu_conn *c = to_emu(conn);
	struct timespec dl;
	int err;

	pthread_mutex_lock(&emu.lock);
	if (c->mstate == EMU_IDLE)
		emu_move_intake(c);
	if (c->mstate != EMU_IDLE && (flags & HV_HANGUP_NOWAIT)) {
		pthread_mutex_unlock(&emu.lock);
		return EINPROGRESS;
	}
	c->waiters++;
	if (flags & HV_HANGUP_UNANSWERED)
		c->unanswered++;
	pthread_cond_broadcast(&emu.cond);
	/* The relay bounds a move by timeout_ms; one other may go first. */
	dl = emu_deadline(2 * emu.timeout_ms + 1000);
	while (c->mstate != EMU_IDLE)
		if (pthread_cond_timedwait(&emu.cond, &emu.lock, &dl) ==
		    ETIMEDOUT)
			break;
	c->waiters--;
	if (flags & HV_HANGUP_UNANSWERED)
		c->unanswered--;
	if (c->mstate == EMU_PENDING) {
		/* Still queued behind other moves: give up on this one. */
		emu_err("%s: the move to %s did not start in time; the device is dead",
			c->dev, c->move.path);
		c->mstate = EMU_IDLE;
		c->dead = true;
	}
	if (c->mstate != EMU_IDLE)
		err = ETIMEDOUT;
	else if (c->dead)
		err = EIO;
	else if (c->moves && sock_alive(sock))
		err = 0;
	else
		err = ECONNRESET;
	pthread_mutex_unlock(&emu.lock);
	return err;
}

static void *relay_main(void *arg)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0, n, i;
	struct list_node *p;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&emu.lock);
again:
		n = 1;
		list_for_each(p, &emu.conns) {
			struct emu_conn *c =
				list_entry(p, struct emu_conn, link);

			if (c->mstate == EMU_PENDING) {
				/* May free c and drop emu.lock meanwhile. */
				emu_move_run(c);
				goto again;
			}
			n++;
		}
		if (n > cap) {
			struct pollfd *np = realloc(pfd, n * sizeof(*pfd));

			if (np) {
				pfd = np;
				cap = n;
			}
		}
		if (!pfd) {
			/* Out of memory: look again in a while. */
			pthread_mutex_unlock(&emu.lock);
			poll(NULL, 0, 100);
			continue;
		}
		pfd[0] = (struct pollfd){ .fd = emu.wake[0], .events = POLLIN };
		n = 1;
		list_for_each(p, &emu.conns) {
			struct emu_conn *c =
				list_entry(p, struct emu_conn, link);

			if (n == cap)
				break;
			if (c->hv_fd >= 0 && !c->dead)
				pfd[n++] = (struct pollfd){ .fd = c->hv_fd,
							    .events = POLLIN };
		}
		pthread_mutex_unlock(&emu.lock);

		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;

		pthread_mutex_lock(&emu.lock);
		if (pfd[0].revents) {
			char b[64];

			while (read(emu.wake[0], b, sizeof(b)) > 0)
				;
		}
		/*
		 * By fd number, among the listed connections only: a number
		 * polled above may have been closed and reused since.
		 */
		for (i = 1; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			list_for_each(p, &emu.conns) {
				struct emu_conn *c =
					list_entry(p, struct emu_conn, link);

				if (c->hv_fd == pfd[i].fd && c->mstate ==
				    EMU_IDLE) {
					emu_move_intake(c);
					break;
				}
			}
		}
		pthread_mutex_unlock(&emu.lock);
	}
	return NULL;
}

/* emu.lock held. */
static int relay_start(void)
{
	pthread_attr_t at;
	sigset_t all, old;
	pthread_t th;
	int err;

	if (emu.wake[0] < 0 && pipe2(emu.wake, O_CLOEXEC | O_NONBLOCK))
		return errno;
	/* The application's signals are not for this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &at, relay_main, NULL);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int emu_relay_start(void)
{
	int err = 0;

	pthread_mutex_lock(&emu.lock);
	if (relay_pid != getpid()) {
		err = relay_start();
		if (!err)
			relay_pid = getpid();
	}
	pthread_mutex_unlock(&emu.lock);
	return err;
}
