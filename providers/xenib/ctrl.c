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
		[XENIB_CMD_ATTACH_MCAST] = "ATTACH_MCAST",
		[XENIB_CMD_DETACH_MCAST] = "DETACH_MCAST",
		[XENIB_CMD_ALLOC_MW] = "ALLOC_MW",
		[XENIB_CMD_DEALLOC_MW] = "DEALLOC_MW",
		[XENIB_CMD_REREG_MR] = "REREG_MR",
		[XENIB_CMD_ATTACH] = "ATTACH",
		[XENIB_CMD_IMPORT] = "IMPORT",
		[XENIB_CMD_UNIMPORT] = "UNIMPORT",
	};

	if (opcode < XENIB_CMD_MAX && names[opcode])
		return names[opcode];
	return "?";
}

int xenib_recv_resp(int sock, uint32_t seq, uint16_t opcode, void *resp,
		    size_t resp_len)
{
	union {
		struct xenib_ctrl_hdr hdr;
		uint8_t bytes[XENIB_CTRL_MAX_MSG];
	} buf;
	ssize_t n;
	int fd;

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

void xenib_fill_hdr(void *req, size_t req_len, uint16_t opcode, uint32_t seq)
{
	struct xenib_ctrl_hdr *hdr = req;

	hdr->opcode = opcode;
	hdr->flags = 0;
	hdr->length = req_len;
	hdr->seq = seq;
	hdr->status = 0;
}

int xenib_exchange(int sock, uint32_t seq, uint16_t opcode, void *req,
		   size_t req_len, int pass_fd, void *resp, size_t resp_len)
{
	int err;

	if (req_len < sizeof(struct xenib_ctrl_hdr) ||
	    req_len > XENIB_CTRL_MAX_MSG ||
	    resp_len < sizeof(struct xenib_ctrl_hdr) ||
	    resp_len > XENIB_CTRL_MAX_MSG)
		return EINVAL;
	xenib_fill_hdr(req, req_len, opcode, seq);
	err = hv_msg_send(sock, req, req_len, pass_fd);
	if (err) {
		xenib_dbg("%s seq %u: send failed: %s", cmd_name(opcode), seq,
			  strerror(err));
		return err;
	}
	return xenib_recv_resp(sock, seq, opcode, resp, resp_len);
}

/* The channel hung up under a request (not a malformed answer). */
static bool hung_up(int err)
{
	return err == ECONNRESET || err == EPIPE || err == ENOTCONN;
}

/* Moves one request may live through (each one sends it again). */
#define XENIB_MAX_MOVES 8

/* ctx->ctrl_lock held. */
static int cmd_locked(struct xenib_context *ctx, uint16_t opcode, void *req,
		      size_t req_len, int pass_fd, void *resp,
		      size_t resp_len)
{
	uint32_t seq;
	int err, moves;

	if (ctx->ctrl_dead)
		return EIO;
	seq = ++ctx->seq;
	err = xenib_exchange(ctx->sock, seq, opcode, req, req_len, pass_fd,
			     resp, resp_len);
	/*
	 * A hang-up may be the context moving to another backend
	 * (util/hv_guest.h, hangup): the old backend never executed a
	 * request it did not answer, so it goes again, once per move, to
	 * the new one, which ctx->sock (same number) now reaches.
	 */
	for (moves = 0; hung_up(err) && ctx->hv->hangup &&
	     moves < XENIB_MAX_MOVES; moves++) {
		if (ctx->hv->hangup(ctx->hvc, ctx->sock, HV_HANGUP_UNANSWERED))
			break;
		xenib_dbg("%s: %s seq %u sent again: the context moved",
			  ctx->devname, cmd_name(opcode), seq);
		err = xenib_exchange(ctx->sock, seq, opcode, req, req_len,
				     pass_fd, resp, resp_len);
	}
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
	return err;
}

int xenib_cmd(struct xenib_context *ctx, uint16_t opcode, void *req,
	      size_t req_len, int pass_fd, void *resp, size_t resp_len)
{
	int err;

	pthread_mutex_lock(&ctx->ctrl_lock);
	err = cmd_locked(ctx, opcode, req, req_len, pass_fd, resp, resp_len);
	pthread_mutex_unlock(&ctx->ctrl_lock);
	return err;
}

int xenib_hello(int sock, struct xenib_hello_resp *resp)
{
	struct xenib_hello_req req;
	int err;

	memset(&req, 0, sizeof(req));
	req.abi_version = XENIB_ABI_VERSION;
	hv_emu_guest_name(req.guest_name, sizeof(req.guest_name));

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
	uint64_t ref = 0;
	int pass_fd, err;

	memset(&req, 0, sizeof(req));
	req.npages = npages;
	req.flags = flags;
	req.offset = shm->offset;
	/*
	 * Announced and done under the control lock (util/hv_guest.h): a
	 * move then knows the region exactly when the backend does.
	 */
	pthread_mutex_lock(&ctx->ctrl_lock);
	/* What names the pages: an fd passed along, or a reference. */
	err = ctx->hv->region_publish(ctx->hvc, shm, &ref, &pass_fd);
	if (err)
		goto out;
	req.ref = ref;
	err = cmd_locked(ctx, XENIB_CMD_MAP_REGION, &req, sizeof(req), pass_fd,
			 &resp, sizeof(resp));
	ctx->hv->region_done(ctx->hvc, shm,
			     err ? XENIB_INVALID_HANDLE : resp.handle);
	if (!err)
		*region = resp.handle;
out:
	pthread_mutex_unlock(&ctx->ctrl_lock);
	return err;
}

/*
 * Create a notifier (util/hv_guest.h), bind it with BIND_NOTIFY and keep
 * our end in *guest_fd.  With self_fd non-NULL we also keep the end that,
 * signalled, makes our own end readable, which channel.c and async.c need
 * to keep their fds readable exactly while events are pending.  The
 * doorbell's ends stay with the hypervisor layer (guest_fd and self_fd
 * NULL): the fast path kicks it with hv->kick().
 */
int xenib_notify_create(struct xenib_context *ctx, uint32_t kind,
			int *guest_fd, int *self_fd, uint32_t *handle)
{
	struct xenib_bind_notify_req req;
	struct xenib_handle_resp resp;
	struct hv_notifier n;
	int err;

	/* Under the control lock, as MAP_REGION (xenib_map_region). */
	pthread_mutex_lock(&ctx->ctrl_lock);
	err = ctx->hv->notify_new(ctx->hvc, kind, &n);
	if (err) {
		pthread_mutex_unlock(&ctx->ctrl_lock);
		return err;
	}
	memset(&req, 0, sizeof(req));
	req.kind = kind;
	req.port = n.port;
	err = cmd_locked(ctx, XENIB_CMD_BIND_NOTIFY, &req, sizeof(req),
			 n.pass_fd, &resp, sizeof(resp));
	ctx->hv->notify_bound(ctx->hvc, &n,
			      err ? XENIB_INVALID_HANDLE : resp.handle);
	pthread_mutex_unlock(&ctx->ctrl_lock);
	if (err)
		return err;
	*handle = resp.handle;
	if (guest_fd)
		*guest_fd = n.guest_fd;
	else if (n.guest_fd >= 0)
		close(n.guest_fd);
	if (self_fd)
		*self_fd = n.self_fd;
	else if (n.self_fd >= 0)
		close(n.self_fd);
	return 0;
}
