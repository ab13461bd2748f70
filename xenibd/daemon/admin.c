// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Admin socket (DIR/xenibd.ctl, root only): xenibctl asks for the backend's
 * own accounting.  Protocol: one text command line in, text lines out, close.
 *
 * Served from the event loop like every other fd, never with a blocking
 * read or write: a connection collects its command line as it arrives,
 * runs it (admin_cmds.c) once the line is complete, and sends the answer
 * as the client takes it.  A client that is slow, stuck or gone costs one
 * connection slot until XD_ADMIN_TIMEOUT_NS, never the guests' data path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "xenibd/dev/dev.h"
#include "xenibd/daemon/admin.h"
#include "xenibd/daemon/loop.h"

#define XD_ADMIN_MAX_CONN	16
#define XD_ADMIN_LINE		192
#define XD_ADMIN_OUT		(256 * 1024)	/* largest answer */
#define XD_ADMIN_TIMEOUT_NS	(5 * 1000 * 1000 * 1000ull)
/* A command that answers later (xd_admin_defer) may take this long. */
#define XD_ADMIN_DEFER_NS	(60 * 1000 * 1000 * 1000ull)

struct xd_admin_conn {
	struct xd_watch w;
	int fd;
	char line[XD_ADMIN_LINE];
	size_t line_len;
	char *out;		/* the answer, once the command ran */
	size_t out_len, out_off;
	uint64_t deadline_ns;
	uint64_t id;		/* xd_admin_defer's name for it */
	bool deferred;		/* the command answers later */
	bool early;		/* ...and did, before it returned */
	struct list_node link;
};

static struct list_node conns = LIST_INIT(conns);
static unsigned int nconns;
static struct xd_watch listener = { .fd = -1 };

static void conn_ready(struct xd_watch *w, uint32_t events);
static void listener_ready(struct xd_watch *w, uint32_t events);

static int admin_socket(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenibd.ctl", dir) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(sa.sun_path, 0600) || listen(fd, 8)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int xd_admin_listen(const char *dir)
{
	int fd = admin_socket(dir), err;

	if (fd < 0)
		return -fd;
	err = xd_loop_watch(&listener, fd, EPOLLIN, listener_ready);
	if (err)
		close(fd);
	return err;
}

static void conn_close(struct xd_admin_conn *c)
{
	xd_loop_unwatch(&c->w);
	close(c->fd);
	list_del(&c->link);
	free(c->out);
	free(c);
	nconns--;
}

static void listener_ready(struct xd_watch *w, uint32_t events)
{
	struct xd_admin_conn *c;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		/* Out of fds: the pending client would wake us at once, forever. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			xd_log("admin: cannot accept: %s; not listening for "
			       "100 ms", strerror(errno));
			xd_loop_pause(w, 100 * 1000 * 1000ull);
		}
		return;
	}
	c = nconns < XD_ADMIN_MAX_CONN ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);	/* busy: the client sees EOF at once */
		return;
	}
	c->fd = fd;
	c->deadline_ns = xd_now_ns() + XD_ADMIN_TIMEOUT_NS;
	if (xd_loop_watch(&c->w, fd, EPOLLIN, conn_ready)) {
		close(fd);
		free(c);
		return;
	}
	list_add_tail(&conns, &c->link);
	nconns++;
}

/* Send what the client takes now; close when all is sent. */
static void conn_flush(struct xd_admin_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			xd_loop_modify(&c->w, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			xd_dbg("admin client went away");
			break;
		}
		c->out_off += n;
	}
	conn_close(c);
}

/* The connection whose command is running (xd_admin_defer). */
static struct xd_admin_conn *running;
static uint64_t next_id = 1;

uint64_t xd_admin_defer(void)
{
	if (!running)
		return 0;
	running->deferred = true;
	running->deadline_ns = xd_now_ns() + XD_ADMIN_DEFER_NS;
	return running->id;
}

void xd_admin_finish(uint64_t id, const char *text)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &conns) {
		struct xd_admin_conn *c = list_entry(pos, struct xd_admin_conn,
						     link);
		size_t n;

		if (c->id != id || !c->deferred)
			continue;
		n = strlen(text);
		if (n >= XD_ADMIN_OUT)
			n = XD_ADMIN_OUT - 1;
		memcpy(c->out, text, n);
		c->out_len = n;
		c->deferred = false;
		if (c == running) {
			c->early = true;	/* conn_run sends it */
			return;
		}
		conn_flush(c);
		return;
	}
	/* The client went away meanwhile: nobody to tell. */
}

static void conn_run(struct xd_admin_conn *c)
{
	size_t n;

	c->line[strcspn(c->line, "\r\n")] = 0;
	c->out = malloc(XD_ADMIN_OUT);
	if (!c->out) {
		conn_close(c);
		return;
	}
	c->id = next_id++;
	running = c;
	n = xd_admin_command(c->line, c->out, XD_ADMIN_OUT);
	running = NULL;
	if (!c->early)
		c->out_len = n;
	if (c->deferred) {
		xd_loop_modify(&c->w, 0);	/* nothing to read or send */
		return;
	}
	conn_flush(c);
}

static void conn_ready(struct xd_watch *w, uint32_t events)
{
	struct xd_admin_conn *c = container_of(w, struct xd_admin_conn, w);
	size_t room = sizeof(c->line) - 1 - c->line_len;
	ssize_t n;

	if (c->deferred)	/* the answer comes later */
		return;
	if (c->out) {		/* answering: only EPOLLOUT matters */
		conn_flush(c);
		return;
	}
	n = recv(c->fd, c->line + c->line_len, room, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->line_len += n;
	c->line[c->line_len] = 0;
	if (memchr(c->line, '\n', c->line_len) ||
	    c->line_len == sizeof(c->line) - 1)
		conn_run(c);	/* a line, or too long: "unknown command" */
}

void xd_admin_tick(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &conns) {
		struct xd_admin_conn *c = list_entry(pos, struct xd_admin_conn,
						     link);

		if (xd.now_ns >= c->deadline_ns) {
			xd_log("admin: client timed out");
			conn_close(c);
		} else if (c->deadline_ns < *next_ns) {
			*next_ns = c->deadline_ns;
		}
	}
}

void xd_admin_fini(const char *dir)
{
	char path[512];
	int fd;

	while (!list_empty(&conns))
		conn_close(list_entry(conns.next, struct xd_admin_conn, link));
	fd = listener.fd;
	if (fd < 0)
		return;
	xd_loop_unwatch(&listener);
	close(fd);
	snprintf(path, sizeof(path), "%s/xenibd.ctl", dir);
	unlink(path);
}
