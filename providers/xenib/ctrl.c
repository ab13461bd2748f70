// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Control channel: one request, one response, in order (xenib-abi.h).
 *
 * Each request carries a sequence number that the backend echoes; the
 * response must also echo the opcode and announce its exact length.  A
 * response whose status is non-zero may be a bare header.  Anything else is
 * a protocol error, after which the channel is considered dead: we cannot
 * know which request a later response would belong to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenib.h"

/* Largest errno value we accept from the backend. */
#define XENIB_MAX_ERRNO 4095u

static const char *cmd_name(uint16_t opcode)
{
	static const char *const names[XENIB_CMD_MAX] = {
		[XENIB_CMD_HELLO] = "HELLO",
		[XENIB_CMD_MAP_REGION] = "MAP_REGION",
		[XENIB_CMD_UNMAP_REGION] = "UNMAP_REGION",
		[XENIB_CMD_BIND_NOTIFY] = "BIND_NOTIFY",
		[XENIB_CMD_UNBIND_NOTIFY] = "UNBIND_NOTIFY",
		[XENIB_CMD_QUERY_DEVICE] = "QUERY_DEVICE",
		[XENIB_CMD_QUERY_PORT] = "QUERY_PORT",
		[XENIB_CMD_ALLOC_PD] = "ALLOC_PD",
		[XENIB_CMD_DEALLOC_PD] = "DEALLOC_PD",
		[XENIB_CMD_REG_MR] = "REG_MR",
		[XENIB_CMD_DEREG_MR] = "DEREG_MR",
		[XENIB_CMD_CREATE_CQ] = "CREATE_CQ",
		[XENIB_CMD_DESTROY_CQ] = "DESTROY_CQ",
		[XENIB_CMD_CREATE_QP] = "CREATE_QP",
		[XENIB_CMD_MODIFY_QP] = "MODIFY_QP",
		[XENIB_CMD_QUERY_QP] = "QUERY_QP",
		[XENIB_CMD_DESTROY_QP] = "DESTROY_QP",
		[XENIB_CMD_CREATE_SRQ] = "CREATE_SRQ",
		[XENIB_CMD_MODIFY_SRQ] = "MODIFY_SRQ",
		[XENIB_CMD_QUERY_SRQ] = "QUERY_SRQ",
		[XENIB_CMD_DESTROY_SRQ] = "DESTROY_SRQ",
		[XENIB_CMD_CREATE_AH] = "CREATE_AH",
		[XENIB_CMD_DESTROY_AH] = "DESTROY_AH",
	};

	if (opcode < XENIB_CMD_MAX && names[opcode])
		return names[opcode];
	return "?";
}

int xenib_exchange(int sock, uint32_t seq, uint16_t opcode, void *req,
		   size_t req_len, int pass_fd, void *resp, size_t resp_len)
{
	union {
		struct xenib_ctrl_hdr hdr;
		uint8_t bytes[XENIB_CTRL_MAX_MSG];
	} buf;
	struct xenib_ctrl_hdr *hdr = req;
	ssize_t n;
	int fd, err;

	if (req_len < sizeof(*hdr) || req_len > XENIB_CTRL_MAX_MSG ||
	    resp_len < sizeof(buf.hdr) || resp_len > XENIB_CTRL_MAX_MSG)
		return EINVAL;

	hdr->opcode = opcode;
	hdr->flags = 0;
	hdr->length = req_len;
	hdr->seq = seq;
	hdr->status = 0;

	err = hv_msg_send(sock, req, req_len, pass_fd);
	if (err) {
		xenib_dbg("%s seq %u: send failed: %s", cmd_name(opcode), seq,
			  strerror(err));
		return err;
	}

	n = hv_msg_recv(sock, buf.bytes, sizeof(buf.bytes), &fd);
	if (fd >= 0)
		close(fd);	/* no response carries a descriptor */
	if (n < 0) {
		xenib_dbg("%s seq %u: receive failed: %s", cmd_name(opcode),
			  seq, strerror((int)-n));
		return (int)-n;
	}
	if (n == 0) {
		xenib_dbg("%s seq %u: backend closed the channel",
			  cmd_name(opcode), seq);
		return ECONNRESET;
	}
	if ((size_t)n < sizeof(buf.hdr) || buf.hdr.length != (size_t)n ||
	    buf.hdr.opcode != opcode || buf.hdr.seq != seq) {
		xenib_dbg("%s seq %u: malformed response (len %zd/%u op %u seq %u)",
			  cmd_name(opcode), seq, n, buf.hdr.length,
			  buf.hdr.opcode, buf.hdr.seq);
		return EPROTO;
	}
	if (buf.hdr.status) {
		xenib_dbg("%s seq %u: backend says %s", cmd_name(opcode), seq,
			  strerror(buf.hdr.status));
		return buf.hdr.status <= XENIB_MAX_ERRNO ? (int)buf.hdr.status :
							   EPROTO;
	}
	if ((size_t)n != resp_len) {
		xenib_dbg("%s seq %u: response length %zd, expected %zu",
			  cmd_name(opcode), seq, n, resp_len);
		return EPROTO;
	}
	memcpy(resp, buf.bytes, resp_len);
	return 0;
}

int xenib_cmd(struct xenib_context *ctx, uint16_t opcode, void *req,
	      size_t req_len, int pass_fd, void *resp, size_t resp_len)
{
	int err;

	pthread_mutex_lock(&ctx->ctrl_lock);
	if (ctx->ctrl_dead) {
		pthread_mutex_unlock(&ctx->ctrl_lock);
		return EIO;
	}
	err = xenib_exchange(ctx->sock, ++ctx->seq, opcode, req, req_len,
			     pass_fd, resp, resp_len);
	switch (err) {
	case EPROTO:
	case ECONNRESET:
	case EPIPE:
	case ENOTCONN:
	case EMSGSIZE:
		/* The stream is out of step or gone: no later response can
		 * be trusted to belong to its request. */
		ctx->ctrl_dead = true;
		if (err != EPROTO && err != EMSGSIZE)
			xenib_backend_lost(ctx);
		xenib_err("lost the control channel to xenibd (%s) during %s: %s",
			  ctx->devname, cmd_name(opcode), strerror(err));
		err = EIO;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&ctx->ctrl_lock);
	return err;
}

int xenib_hello(int sock, struct xenib_hello_resp *resp)
{
	struct xenib_hello_req req;
	const char *name = getenv("XENIB_EMU_GUEST");
	int err;

	memset(&req, 0, sizeof(req));
	req.abi_version = XENIB_ABI_VERSION;
	if (name && *name)
		snprintf(req.guest_name, sizeof(req.guest_name), "%s", name);
	else
		snprintf(req.guest_name, sizeof(req.guest_name), "pid%d",
			 (int)getpid());

	/* HELLO is always the first message of a channel: seq 1. */
	err = xenib_exchange(sock, 1, XENIB_CMD_HELLO, &req, sizeof(req), -1,
			     resp, sizeof(*resp));
	if (err)
		return err;
	if (resp->abi_version != XENIB_ABI_VERSION)
		return EPROTONOSUPPORT;
	return 0;
}

int xenib_cmd_handle(struct xenib_context *ctx, uint16_t opcode,
		     uint32_t handle)
{
	struct xenib_handle_req req;
	struct xenib_ctrl_hdr resp;

	memset(&req, 0, sizeof(req));
	req.handle = handle;
	return xenib_cmd(ctx, opcode, &req, sizeof(req), -1, &resp,
			 sizeof(resp));
}

int xenib_map_region(struct xenib_context *ctx, struct hv_shm *shm,
		     uint32_t npages, uint32_t flags, uint32_t *region)
{
	struct xenib_map_region_req req;
	struct xenib_handle_resp resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.npages = npages;
	req.flags = flags;
	if (ctx->xconn) {
		/* Xen: a granted directory of the pages' grant refs. */
		err = hv_xen_region_publish(shm, &req.ref);
		if (err)
			return err;
	}
	err = xenib_cmd(ctx, XENIB_CMD_MAP_REGION, &req, sizeof(req),
			ctx->xconn ? -1 : shm->fd, &resp, sizeof(resp));
	if (ctx->xconn)
		hv_xen_region_done(ctx->xconn, shm,
				   err ? XENIB_INVALID_HANDLE : resp.handle);
	if (!err)
		*region = resp.handle;
	return err;
}

/*
 * Create a notifier (hv.h: a pair of endpoints), hand the backend its end
 * with BIND_NOTIFY and keep ours in *guest_fd.  With self_fd non-NULL we
 * also keep a copy of the backend's end: signalling it makes our own end
 * readable, which channel.c and async.c need to keep their fds readable
 * exactly while events are pending.  Without self_fd the backend's end is
 * closed here once the backend holds its own copy.
 */
int xenib_notify_create(struct xenib_context *ctx, uint32_t kind,
			int *guest_fd, int *self_fd, uint32_t *handle)
{
	struct xenib_bind_notify_req req;
	struct xenib_handle_resp resp;
	int gfd, bfd, err;

	memset(&req, 0, sizeof(req));
	req.kind = kind;
	if (ctx->xconn) {
		/* Xen: an event channel; the relay signals bfd for us. */
		err = hv_xen_notify_new(ctx->xconn, kind, &gfd, &bfd,
					&req.port);
		if (err)
			return err;
		err = xenib_cmd(ctx, XENIB_CMD_BIND_NOTIFY, &req, sizeof(req),
				-1, &resp, sizeof(resp));
		hv_xen_notify_done(ctx->xconn, req.port,
				   err ? XENIB_INVALID_HANDLE : resp.handle);
	} else {
		err = hv_notify_pair(&gfd, &bfd);
		if (err)
			return err;
		err = xenib_cmd(ctx, XENIB_CMD_BIND_NOTIFY, &req, sizeof(req),
				bfd, &resp, sizeof(resp));
	}
	if (err) {
		if (gfd >= 0)
			close(gfd);
		if (bfd >= 0)
			close(bfd);
		return err;
	}
	*guest_fd = gfd;
	*handle = resp.handle;
	if (self_fd)
		*self_fd = bfd;
	else if (bfd >= 0)
		close(bfd);
	return 0;
}
