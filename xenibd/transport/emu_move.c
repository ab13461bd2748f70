// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The emulation's part of a migration between hosts (xenib-abi.h, "MOVE";
 * docs/migration.md).
 *
 * Source: a frozen context's control socket is not read (its requests
 * wait in the socket, unexecuted), and once the destination has the
 * guest, the context's HV notifier carries one struct xenib_emu_move
 * datagram (the destination's socket, the token) and the control socket
 * is closed, which wakes a request the guest had in flight so that it
 * sends it again to the destination.
 *
 * Destination: an adopted context has no socket until a new connection's
 * first message is TAKEOVER with its token and its guest's name; the
 * connection then becomes its control channel, RESUME_* bring its memory
 * and notifiers back (migrate/adopt.c), and it runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "util/hv.h"
#include "xenibd/migrate/migrate.h"
#include "xenibd/transport/emu_node.h"
#include "xenibd/transport/emu_int.h"
#include "xenibd/transport/transport.h"

static char listen_path[108];

void xd_emu_set_addr(const char *path)
{
	snprintf(listen_path, sizeof(listen_path), "%s", path);
}

const char *xd_emu_addr(void)
{
	return listen_path;
}

int xd_emu_freeze(struct xd_ctx *ctx)
{
	struct emu_ctx *ec = EMU_CTX(ctx);

	if (ec->sock < 0)
		return EPIPE;
	/* Requests wait unread; a hang-up is still seen (epoll's HUP). */
	return xd_loop_modify(&ec->w, 0);
}

void xd_emu_thaw(struct xd_ctx *ctx)
{
	struct emu_ctx *ec = EMU_CTX(ctx);

	if (ec->sock >= 0)
		xd_loop_modify(&ec->w, EPOLLIN);
}

static struct emu_notify *hv_notifier(struct xd_ctx *ctx)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &ctx->notifiers) {
		struct xd_notify *n = list_entry(pos, struct xd_notify, link);

		if (n->kind == XENIB_NOTIFY_HV)
			return EMU_NOTIFY(n);
	}
	return NULL;
}

int xd_emu_move(struct xd_ctx *ctx, const char *token, const char *dest)
{
	struct emu_ctx *ec = EMU_CTX(ctx);
	struct emu_notify *en = hv_notifier(ctx);
	struct xenib_emu_move m = { .magic = XENIB_EMU_MOVE_MAGIC };

	if (!en)
		return EOPNOTSUPP;	/* a guest that cannot move */
	if (strlen(token) >= sizeof(m.token) || strlen(dest) >= sizeof(m.path))
		return ENAMETOOLONG;
	snprintf(m.token, sizeof(m.token), "%s", token);
	snprintf(m.path, sizeof(m.path), "%s", dest);
	if (send(en->fd, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(m))
		return errno ? errno : EIO;
	/* Wakes a request in flight: the guest sends it to dest again. */
	if (ec->sock >= 0) {
		xd_loop_unwatch(&ec->w);
		close(ec->sock);
		ec->sock = -1;
		xd_emu_fd_count(-1);
	}
	return 0;
}

struct xd_ctx *xd_emu_adopt(struct xd_guest *g, const char *token)
{
	struct emu_ctx *ec = calloc(1, sizeof(*ec));

	if (!ec)
		return NULL;
	ec->sock = -1;
	ec->w.fd = -1;
	ec->adopted = true;
	snprintf(ec->token, sizeof(ec->token), "%s", token);
	list_init(&ec->plink);
	xd_ctx_init(&ec->ctx, &xd_emu_transport);
	ec->ctx.guest = g;
	ec->ctx.hello = true;
	g->nctx++;
	return &ec->ctx;
}

static struct emu_ctx *adopted_by_token(const char *token, const char *guest)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);
		struct emu_ctx *ec;

		if (ctx->tp != &xd_emu_transport)
			continue;
		ec = EMU_CTX(ctx);
		if (ec->adopted && ec->sock < 0 && ctx->guest &&
		    !strcmp(ctx->guest->name, guest) &&
		    !strcmp(ec->token, token))
			return ec;
	}
	return NULL;
}

static void answer(int sock, const struct xenib_ctrl_hdr *req, int err)
{
	struct xenib_ctrl_hdr r = {
		.opcode = XENIB_CMD_TAKEOVER, .length = sizeof(r),
		.seq = req ? req->seq : 0, .status = err,
	};

	hv_msg_send(sock, &r, sizeof(r), -1);
}

bool xd_emu_takeover(struct emu_ctx *ec, const void *msg, ssize_t len)
{
	const struct xenib_takeover_req *t = msg;
	char token[XENIB_TOKEN_LEN], name[sizeof(t->guest_name)], why[160];
	struct emu_ctx *to;
	int sock;

	if (len < (ssize_t)sizeof(t->hdr) || t->hdr.opcode != XENIB_CMD_TAKEOVER)
		return false;
	if (len != sizeof(*t) || t->hdr.length != sizeof(*t) ||
	    t->hdr.flags || t->hdr.status ||
	    t->abi_version != XENIB_ABI_VERSION) {
		answer(ec->sock, &t->hdr, EINVAL);
		return true;
	}
	/* The process must be allowed the device here too (its node). */
	if (xd_emu_node_allows(&ec->who, why, sizeof(why))) {
		xd_log("migration: TAKEOVER of pid %d refused: %s",
		       (int)ec->pid, why);
		answer(ec->sock, &t->hdr, EACCES);
		return true;
	}
	memcpy(token, t->token, sizeof(token));
	token[sizeof(token) - 1] = 0;
	memcpy(name, t->guest_name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	to = adopted_by_token(token, name);
	if (!to) {
		xd_log("migration: TAKEOVER of pid %d: no such context here",
		       (int)ec->pid);
		answer(ec->sock, &t->hdr, ENOENT);
		return true;
	}
	/* The connection is the adopted context's channel from now on. */
	sock = ec->sock;
	xd_loop_unwatch(&ec->w);
	ec->sock = -1;
	xd_emu_fd_count(-1);	/* counted again below, as to's */
	xd_ctx_destroy(&ec->ctx);
	if (xd_loop_watch(&to->w, sock, EPOLLIN, xd_emu_ctx_ready)) {
		answer(sock, &t->hdr, ENOMEM);
		close(sock);
		return true;
	}
	to->sock = sock;
	xd_emu_fd_count(1);
	hv_emu_peer_pid(sock, &to->pid);
	/* Its SysV segments are checked against the new connection's. */
	hv_emu_peer_creds(sock, &to->who);
	to->adopted = false;
	answer(sock, &t->hdr, 0);
	xd_log("migration: guest %s (pid %d) took its context over",
	       name, (int)to->pid);
	return true;
}

bool xd_emu_request_phase(const struct xd_ctx *ctx)
{
	return xm_resuming(ctx);
}

int xd_emu_request(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		   size_t len, int *fd)
{
	if (EMU_CTX(ctx)->adopted)
		return EPROTO;	/* TAKEOVER first */
	return xm_resume_request(ctx, h, len, fd);
}
