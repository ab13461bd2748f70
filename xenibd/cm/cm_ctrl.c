// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CM control messages (xenib-cm-abi.h): check the framing, the order and
 * the exact size, find the id named, run the request, answer it.  Every
 * request gets one response with its seq and an errno; a malformed one is
 * logged (rate limited per context) and never read past its length.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "xenibd/cm/cm.h"
#include "xenibd/cm/cm_hook.h"
#include "xenibd/transport/transport.h"

union cm_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_cm_open_resp open;
	struct xenib_handle_resp handle;
	struct xenib_cm_route_resp route;
	struct xenib_cm_init_qp_attr_resp qp;
	struct xenib_cm_event_resp ev;
};

struct cm_req {
	struct xd_ctx *ctx;
	struct cm_chan *ch;
	struct cm_id *id;	/* the id named by the request, if any */
	void *msg;
	int *fd;
	union cm_resp *resp;
	size_t resp_len;
};

struct cm_cmd {
	const char *name;
	size_t len;		/* exact request size */
	bool names_id;		/* __u32 id right after the header */
	int (*fn)(struct cm_req *r);
};

static int do_open(struct cm_req *r)
{
	const struct xenib_cm_open_req *q = r->msg;
	int err;

	if (q->abi_version != XENIB_CM_ABI_VERSION)
		return EPROTONOSUPPORT;
	/* An fd (the emulation) or a port (Xen) for the notifier: one. */
	if (*r->fd < 0 && !q->port)
		return EBADF;
	if (*r->fd >= 0 && q->port)
		return EINVAL;
	err = cm_chan_open(r->ctx, r->fd, q->port);
	if (err)
		return err;
	r->resp->open.abi_version = XENIB_CM_ABI_VERSION;
	r->resp_len = sizeof(r->resp->open);
	return 0;
}

static int do_create_id(struct cm_req *r)
{
	const struct xenib_cm_create_id_req *q = r->msg;
	struct cm_id *id;
	int err = cm_id_create(r->ch, q->ps, q->qp_type, &id);

	if (err)
		return err;
	r->resp->handle.handle = id->h.id;
	r->resp_len = sizeof(r->resp->handle);
	return 0;
}

static int do_destroy_id(struct cm_req *r)
{
	cm_id_destroy(r->id);
	return 0;
}

static int do_migrate_id(struct cm_req *r)
{
	const struct xenib_cm_id_req *q = r->msg;

	return cm_id_migrate(r->ch, q->id);
}

static int route_answer(struct cm_req *r)
{
	cm_route_fill(r->id, &r->resp->route.route);
	r->resp_len = sizeof(r->resp->route);
	return 0;
}

static int do_bind(struct cm_req *r)
{
	struct xenib_cm_bind_req *q = r->msg;
	int err = cm_addr_check(&q->addr, false);

	if (!err)
		err = cm_bind(r->id, &q->addr);
	if (!err)
		cm_hold_bound(r->id);	/* a service binding its port again */
	return err ? err : route_answer(r);
}

static int do_query(struct cm_req *r)
{
	return route_answer(r);
}

static int do_resolve_addr(struct cm_req *r)
{
	struct xenib_cm_resolve_addr_req *q = r->msg;
	int err = cm_addr_check(&q->src, true);

	if (!err)
		err = cm_addr_check(&q->dst, false);
	if (!err && q->src.family && q->src.family != q->dst.family)
		err = EINVAL;
	return err ? err : cm_resolve_addr(r->id, &q->src, &q->dst,
					   q->timeout_ms);
}

static int do_resolve_route(struct cm_req *r)
{
	const struct xenib_cm_resolve_route_req *q = r->msg;

	return cm_resolve_route(r->id, q->timeout_ms);
}

static int do_set_option(struct cm_req *r)
{
	const struct xenib_cm_set_option_req *q = r->msg;

	return cm_set_option(r->id, q->level, q->optname, q->value);
}

static int do_listen(struct cm_req *r)
{
	const struct xenib_cm_listen_req *q = r->msg;
	int err = cm_listen(r->id, q->backlog);

	return err ? err : route_answer(r);
}

static int do_connect(struct cm_req *r)
{
	const struct xenib_cm_conn_req *q = r->msg;

	return cm_connect(r->id, &q->conn);
}

static int do_accept(struct cm_req *r)
{
	const struct xenib_cm_conn_req *q = r->msg;

	return cm_accept(r->id, &q->conn);
}

static int do_reject(struct cm_req *r)
{
	const struct xenib_cm_reject_req *q = r->msg;

	return cm_reject(r->id, q->private_data, q->private_data_len, q->kind);
}

static int do_establish(struct cm_req *r)
{
	return cm_establish(r->id);
}

static int do_disconnect(struct cm_req *r)
{
	return cm_disconnect(r->id);
}

static int do_notify(struct cm_req *r)
{
	const struct xenib_cm_notify_req *q = r->msg;

	return cm_notify(r->id, q->event);
}

static int do_init_qp_attr(struct cm_req *r)
{
	const struct xenib_cm_init_qp_attr_req *q = r->msg;
	int err = cm_init_qp_attr(r->id, q->qp_state, &r->resp->qp.attr_mask,
				  &r->resp->qp.attr);

	if (!err)
		r->resp_len = sizeof(r->resp->qp);
	return err;
}

static int do_get_event(struct cm_req *r)
{
	int err = cm_ev_get(r->ch, &r->resp->ev);

	if (!err)
		r->resp_len = sizeof(r->resp->ev);
	return err;
}

static int do_join(struct cm_req *r)
{
	struct xenib_cm_join_req *q = r->msg;
	int err = cm_addr_check(&q->addr, false);

	if (!err)
		err = cm_mcast_join(r->id, &q->addr, q->join_flags, q->uid,
				    &r->resp->handle.handle);
	if (!err)
		r->resp_len = sizeof(r->resp->handle);
	return err;
}

static int do_leave(struct cm_req *r)
{
	const struct xenib_cm_id_req *q = r->msg;

	return cm_mcast_leave(r->ch, q->id);
}

#define IDREQ sizeof(struct xenib_cm_id_req)
#define CMD(op, n, sz, id, f) [(op) - XENIB_CM_OP_FIRST] = { n, sz, id, f }

static const struct cm_cmd cmds[XENIB_CM_OP_END - XENIB_CM_OP_FIRST] = {
	CMD(XENIB_CM_OPEN, "CM_OPEN", sizeof(struct xenib_cm_open_req), false, do_open),
	CMD(XENIB_CM_CREATE_ID, "CM_CREATE_ID", sizeof(struct xenib_cm_create_id_req), false, do_create_id),
	CMD(XENIB_CM_DESTROY_ID, "CM_DESTROY_ID", IDREQ, true, do_destroy_id),
	CMD(XENIB_CM_MIGRATE_ID, "CM_MIGRATE_ID", IDREQ, false, do_migrate_id),
	CMD(XENIB_CM_BIND, "CM_BIND", sizeof(struct xenib_cm_bind_req), true, do_bind),
	CMD(XENIB_CM_QUERY, "CM_QUERY", IDREQ, true, do_query),
	CMD(XENIB_CM_RESOLVE_ADDR, "CM_RESOLVE_ADDR", sizeof(struct xenib_cm_resolve_addr_req), true, do_resolve_addr),
	CMD(XENIB_CM_RESOLVE_ROUTE, "CM_RESOLVE_ROUTE", sizeof(struct xenib_cm_resolve_route_req), true, do_resolve_route),
	CMD(XENIB_CM_SET_OPTION, "CM_SET_OPTION", sizeof(struct xenib_cm_set_option_req), true, do_set_option),
	CMD(XENIB_CM_LISTEN, "CM_LISTEN", sizeof(struct xenib_cm_listen_req), true, do_listen),
	CMD(XENIB_CM_CONNECT, "CM_CONNECT", sizeof(struct xenib_cm_conn_req), true, do_connect),
	CMD(XENIB_CM_ACCEPT, "CM_ACCEPT", sizeof(struct xenib_cm_conn_req), true, do_accept),
	CMD(XENIB_CM_REJECT, "CM_REJECT", sizeof(struct xenib_cm_reject_req), true, do_reject),
	CMD(XENIB_CM_ESTABLISH, "CM_ESTABLISH", IDREQ, true, do_establish),
	CMD(XENIB_CM_DISCONNECT, "CM_DISCONNECT", IDREQ, true, do_disconnect),
	CMD(XENIB_CM_NOTIFY, "CM_NOTIFY", sizeof(struct xenib_cm_notify_req), true, do_notify),
	CMD(XENIB_CM_INIT_QP_ATTR, "CM_INIT_QP_ATTR", sizeof(struct xenib_cm_init_qp_attr_req), true, do_init_qp_attr),
	CMD(XENIB_CM_GET_EVENT, "CM_GET_EVENT", sizeof(struct xenib_ctrl_hdr), false, do_get_event),
	CMD(XENIB_CM_JOIN_MCAST, "CM_JOIN_MCAST", sizeof(struct xenib_cm_join_req), true, do_join),
	CMD(XENIB_CM_LEAVE_MCAST, "CM_LEAVE_MCAST", IDREQ, false, do_leave),
};

bool xd_cm_opcode(uint32_t opcode)
{
	return opcode >= XENIB_CM_OP_FIRST && opcode < XENIB_CM_OP_END;
}

static int check(struct cm_req *r, const struct xenib_ctrl_hdr *h,
		 ssize_t len, int fd, const struct cm_cmd **cmd)
{
	const struct cm_cmd *c;

	if (len == -EMSGSIZE)
		return EMSGSIZE;
	if ((size_t)len < sizeof(*h) || h->length != (size_t)len ||
	    h->status || h->flags || !xd_cm_opcode(h->opcode))
		return EINVAL;
	c = &cmds[h->opcode - XENIB_CM_OP_FIRST];
	*cmd = c;
	if (r->ctx->hello_pending)
		return EBUSY;		/* HELLO waits for the guest's identity */
	if (!r->ctx->hello)
		return EPROTO;
	if (r->ctx->tp->request_phase && r->ctx->tp->request_phase(r->ctx))
		return EBUSY;		/* resuming: RESUME_* only */
	if (!r->ch && h->opcode != XENIB_CM_OPEN)
		return EPROTO;
	if ((size_t)len != c->len)
		return EINVAL;
	if (fd >= 0 && h->opcode != XENIB_CM_OPEN)
		return EINVAL;
	if (c->names_id) {
		const struct xenib_cm_id_req *q = r->msg;

		r->id = cm_id_get(r->ch, q->id);
		if (!r->id || r->id->hidden)
			return ENOENT;
	}
	return 0;
}

void xd_cm_ctrl(struct xd_ctx *ctx, void *msg, ssize_t len, int fd)
{
	static const struct xenib_ctrl_hdr none;
	const struct xenib_ctrl_hdr *h = len >= (ssize_t)sizeof(none) ? msg :
								      &none;
	const struct cm_cmd *cmd = NULL;
	union cm_resp resp;
	struct cm_req r = {
		.ctx = ctx, .ch = ctx->cm, .msg = msg, .fd = &fd,
		.resp = &resp, .resp_len = sizeof(resp.hdr),
	};
	int err;

	memset(&resp, 0, sizeof(resp));
	xd.stats.ctrl_msgs++;
	err = check(&r, h, len, fd, &cmd);
	if (!err)
		err = cmd->fn(&r);
	if (fd >= 0)
		close(fd);
	if (err) {
		r.resp_len = sizeof(resp.hdr);
		if (err != EAGAIN) {
			xd.stats.ctrl_errors++;
			xd_ctx_log(ctx, "%s (opcode %#x, %zd bytes): %s",
				   cmd ? cmd->name : "bad CM request",
				   h->opcode, len, strerror(err));
		}
	}
	resp.hdr.opcode = h->opcode;
	resp.hdr.seq = h->seq;
	resp.hdr.status = err;
	resp.hdr.length = r.resp_len;
	err = xd_ctx_reply(ctx, &resp, r.resp_len);
	if (err) {
		xd_ctx_log(ctx, "cannot answer (%s); closing its context",
			   strerror(err));
		xd_ctx_destroy(ctx);
	}
	/* Deliver what this request sent now rather than a loop later. */
	if (cm.ready && cm.ninbox)
		cm_inbox_run();
}
