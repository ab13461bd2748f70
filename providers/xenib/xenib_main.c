// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenib provider: registration, device discovery, context open/close.
 *
 * The provider is a "discovery provider" of our libibverbs
 * (libibverbs/driver.h): there is no kernel device in the guest, so it
 * enumerates the devices the backend offers itself, through the
 * hypervisor layer (util/hv_guest.h), and keeps those that answer HELLO.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "xenib.h"

int xenib_debug_enabled;
unsigned int xenib_poll_yield = 16;

/*
 * Discovery must not hang ibv_get_device_list() on a stuck backend, but
 * must outwait a backend whose HELLO waits for its cluster directory (a
 * guest it does not know yet: up to the directory's 5 s operation
 * timeout), so that such a guest hears why it has no device.
 */
#define XENIB_DISCOVER_TIMEOUT_S 10

static const struct verbs_context_ops xenib_ctx_ops;

/* ------------------------------------------------------------------ */
/* Discovery                                                           */

struct probe {
	const struct hv_ops *hv;
	verbs_discover_add_fn add;
	void *cookie;
};

/*
 * HELLO's failures a user can act on, said plainly (xenib-abi.h): the
 * backend's cluster directory gave no identity for this guest, or the
 * backend did not answer in time.  NULL for the others.
 */
static const char *hello_why(int err)
{
	switch (err) {
	case EHOSTUNREACH:
		return "xenibd cannot get this guest's identity from its "
		       "cluster directory (etcd unreachable or refusing; "
		       "xenibd's log says which); try again once etcd is back";
	case EAGAIN:
		return "xenibd did not answer HELLO in time (is it waiting "
		       "for its cluster directory, etcd?)";
	default:
		return NULL;
	}
}

/* A device is one that answers HELLO with our ABI. */
static void probe_one(void *arg, const char *name)
{
	struct timeval tv = { .tv_sec = XENIB_DISCOVER_TIMEOUT_S };
	struct verbs_discovered_device dev;
	struct xenib_hello_resp resp;
	struct probe *pr = arg;
	struct hv_conn *conn;
	char node[256];
	int sock, err;

	if (strlen(name) >= sizeof(dev.name))
		return;
	err = pr->hv->connect(name, &conn, &sock);
	if (err) {
		/* A stale socket of a stopped xenibd: not a device. */
		xenib_dbg("skipping %s: cannot connect: %s", name,
			  strerror(err));
		return;
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	err = xenib_hello(sock, &resp);
	pr->hv->disconnect(conn, sock);
	if (err == EPROTONOSUPPORT) {
		xenib_err("skipping %s: xenibd speaks ABI %u, this provider ABI %u",
			  name, resp.abi_version, XENIB_ABI_VERSION);
		return;
	}
	if (err && hello_why(err)) {
		xenib_err("skipping %s: %s", name, hello_why(err));
		return;
	}
	/* Listed, as a kernel's device is; opening it says EACCES. */
	if (err == EACCES)
		xenib_dbg("%s: this user may not use it (its node's mode)", name);
	else if (err) {
		xenib_dbg("skipping %s: HELLO failed: %s", name, strerror(err));
		return;
	}

	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "%s", name);
	snprintf(dev.dev_id, sizeof(dev.dev_id), "%s", name);
	if (pr->hv->node && pr->hv->node(name, node, sizeof(node))) {
		const char *base = strrchr(node, '/');

		snprintf(dev.dev_name, sizeof(dev.dev_name), "%.*s",
			 (int)sizeof(dev.dev_name) - 1, base ? base + 1 : node);
	}
	dev.node_type = IBV_NODE_CA;
	dev.transport_type = IBV_TRANSPORT_IB;
	if (!err)
		dev.node_guid = resp.dev.node_guid;	/* network order */
	xenib_dbg("found %s (guest id %u)", name, resp.guest_id);
	pr->add(pr->cookie, &dev);
}

static int xenib_discover(verbs_discover_add_fn add, void *cookie)
{
	struct probe pr = {
		.hv = hv_guest_select(), .add = add, .cookie = cookie,
	};
	int err;

	err = pr.hv->discover(probe_one, &pr);
	if (err)
		/* No backend reachable: no device, not an error. */
		xenib_dbg("no devices (%s hypervisor): %s", pr.hv->name,
			  strerror(err));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Context                                                             */

/*
 * ATTACH through cmd_fd (xenib-abi.h): the answer, a HELLO's, comes on
 * our new channel.  Bounded like discovery: cmd_fd may be anything.
 */
static int attach_channel(struct xenib_context *ctx, int cmd_fd,
			  struct xenib_hello_resp *hello)
{
	struct timeval tv = { .tv_sec = XENIB_DISCOVER_TIMEOUT_S };
	struct xenib_attach_req req;
	int err;

	if (!ctx->hv->attach) {
		xenib_err("%s: contexts cannot be shared on the %s hypervisor",
			  ctx->devname, ctx->hv->name);
		return EOPNOTSUPP;
	}
	memset(&req, 0, sizeof(req));
	snprintf(req.dev_name, sizeof(req.dev_name), "%s", ctx->devname);
	xenib_fill_hdr(&req, sizeof(req), XENIB_CMD_ATTACH, 1);
	err = ctx->hv->attach(cmd_fd, &req, sizeof(req), &ctx->hvc,
			      &ctx->sock);
	if (err) {
		ctx->hvc = NULL;
		ctx->sock = -1;
		return err;
	}
	setsockopt(ctx->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	err = xenib_recv_resp(ctx->sock, 1, XENIB_CMD_ATTACH, hello,
			      sizeof(*hello));
	tv.tv_sec = 0;
	setsockopt(ctx->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* No answer at all: cmd_fd is no channel of this device's xenibd. */
	if (err == ECONNRESET || err == EAGAIN || err == EPROTO)
		err = ENODEV;
	return err;
}

/*
 * The device's node gates it as a uverbs node does: a user who may not
 * read and write it may not open the device (xenibd refuses HELLO too).
 */
static int node_check(struct xenib_context *ctx)
{
	char node[256];

	if (!ctx->hv->node || !ctx->hv->node(ctx->devname, node, sizeof(node)))
		return 0;
	if (!faccessat(AT_FDCWD, node, R_OK | W_OK, AT_EACCESS))
		return 0;
	if (errno == EACCES || errno == EPERM || errno == EROFS) {
		xenib_err("%s: permission denied: this user may not read and "
			  "write %s, the device's node (xenib(7), \"DEVICE "
			  "NODE\")", ctx->devname, node);
		return EACCES;
	}
	return 0;	/* gone meanwhile: xenibd decides */
}

static int open_channel(struct xenib_context *ctx, int cmd_fd)
{
	struct xenib_hello_resp hello;
	char where[128];
	int err;

	err = node_check(ctx);
	if (err)
		return err;

	if (cmd_fd >= 0) {
		err = attach_channel(ctx, cmd_fd, &hello);
		if (err)
			return err;
		goto attached;
	}
	err = ctx->hv->connect(ctx->devname, &ctx->hvc, &ctx->sock);
	if (err) {
		ctx->hvc = NULL;
		ctx->sock = -1;
		ctx->hv->where(ctx->devname, where, sizeof(where));
		xenib_err("cannot reach xenibd at %s: %s", where,
			  strerror(err));
		return err;
	}
	err = xenib_hello(ctx->sock, &hello);
	if (err == EPROTONOSUPPORT) {
		xenib_err("%s: xenibd speaks ABI %u, this provider ABI %u",
			  ctx->devname, hello.abi_version, XENIB_ABI_VERSION);
		return err;
	}
	if (err == EACCES) {
		xenib_err("%s: permission denied by xenibd: this user may not "
			  "use the device (its node's mode, xenib(7))",
			  ctx->devname);
		return err;
	}
	if (err) {
		xenib_err("%s: HELLO to xenibd failed: %s", ctx->devname,
			  hello_why(err) ? hello_why(err) : strerror(err));
		return err;
	}
attached:
	ctx->seq = 1;		/* HELLO (or ATTACH) used seq 1 */
	ctx->hv->set_quiesce(ctx->hvc, xenib_quiesce, ctx);
	ctx->guest_id = hello.guest_id;
	ctx->dev_info = hello.dev;
	return 0;
}

static int setup_shared(struct xenib_context *ctx)
{
	int err;

	/* Context page: backend writes backend_sleeping and async events. */
	err = ctx->hv->shm_alloc(&ctx->ctx_shm, XENIB_PAGE_SIZE,
				 "ring-xenib-ctx");
	if (err)
		return err;
	ctx->page = ctx->ctx_shm.va;
	err = xenib_map_region(ctx, &ctx->ctx_shm, 1,
			       XENIB_REGION_CTX_PAGE, &ctx->ctx_region);
	if (err)
		return err;

	/* Doorbell: kept by the hypervisor layer, kicked by hv->kick(). */
	err = xenib_notify_create(ctx, XENIB_NOTIFY_DOORBELL, NULL, NULL,
				  &ctx->doorbell_handle);
	if (err)
		return err;

	/* Async events: blocking by default, like a kernel async fd. */
	return xenib_notify_create(ctx, XENIB_NOTIFY_ASYNC, &ctx->async_fd,
				   &ctx->async_self, &ctx->async_handle);
}

static void release_context(struct xenib_context *ctx)
{
	/*
	 * Closing the control channel makes the backend reclaim every
	 * object of this context (it must, for vanished guests anyway), so
	 * there is nothing to destroy one by one here.
	 */
	if (ctx->hvc)
		ctx->hv->disconnect(ctx->hvc, ctx->sock);
	ctx->hvc = NULL;
	ctx->sock = -1;
	xenib_channel_cleanup(ctx);
	xenib_mr_cleanup(ctx);
	if (ctx->async_fd >= 0)
		close(ctx->async_fd);
	if (ctx->async_self >= 0)
		close(ctx->async_self);
	ctx->ibv_ctx.context.async_fd = -1;
	if (ctx->page)
		ctx->hv->shm_release(&ctx->ctx_shm, 1);
	pthread_mutex_destroy(&ctx->ctrl_lock);
	pthread_mutex_destroy(&ctx->async_lock);
	pthread_mutex_destroy(&ctx->obj_lock);
	pthread_mutex_destroy(&ctx->mr_lock);
}

static struct verbs_context *xenib_alloc_context(struct verbs_device *vdev)
{
	return xenib_context_new(vdev, -1);
}

struct verbs_context *xenib_context_new(struct verbs_device *vdev, int cmd_fd)
{
	struct xenib_context *ctx;
	struct ibv_context *ibctx;
	int err;

	ctx = verbs_init_and_alloc_context(&vdev->device, -1, ctx, ibv_ctx);
	if (!ctx)
		return NULL;

	pthread_mutex_init(&ctx->ctrl_lock, NULL);
	pthread_mutex_init(&ctx->async_lock, NULL);
	pthread_mutex_init(&ctx->obj_lock, NULL);
	pthread_mutex_init(&ctx->mr_lock, NULL);
	list_init(&ctx->cqs);
	list_init(&ctx->qps);
	list_init(&ctx->srqs);
	list_init(&ctx->channels);
	list_init(&ctx->areas);
	ctx->hv = hv_guest_select();
	ctx->sock = -1;
	ctx->async_fd = -1;
	ctx->async_self = -1;
	ctx->ctx_shm.fd = -1;
	snprintf(ctx->devname, sizeof(ctx->devname), "%s",
		 vdev->dev_id[0] ? vdev->dev_id : vdev->device.name);

	err = open_channel(ctx, cmd_fd);
	if (!err) {
		err = setup_shared(ctx);
		if (err)
			xenib_err("%s: cannot set up shared memory with xenibd: %s",
				  ctx->devname, strerror(err));
	}
	if (err)
		goto fail;

	ibctx = &ctx->ibv_ctx.context;
	ibctx->async_fd = ctx->async_fd;
	/*
	 * The control channel is the command fd: another process holding a
	 * copy of it can import this context (import.c).
	 */
	ibctx->cmd_fd = ctx->sock;
	ibctx->num_comp_vectors = 1;
	/* Every verb, fast path included, comes from the one table. */
	verbs_set_ops(&ctx->ibv_ctx, &xenib_ctx_ops);

	xenib_dbg("%s: context open (guest id %u)", ctx->devname,
		  ctx->guest_id);
	return &ctx->ibv_ctx;

fail:
	release_context(ctx);
	verbs_uninit_context(&ctx->ibv_ctx);
	free(ctx);
	errno = err;
	return NULL;
}

static void xenib_free_context(struct ibv_context *ibctx)
{
	struct xenib_context *ctx = to_xctx(ibctx);

	xenib_dbg("%s: context closed", ctx->devname);
	release_context(ctx);
	verbs_uninit_context(&ctx->ibv_ctx);
	free(ctx);
}

/* ------------------------------------------------------------------ */
/* Registration                                                        */

/* upstream's members in upstream's order, then the discovery ones */
static const struct verbs_context_ops xenib_ctx_ops = {
	.alloc_mw = xenib_alloc_mw,
	.alloc_parent_domain = xenib_alloc_parent_domain,
	.alloc_pd = xenib_alloc_pd,
	.attach_mcast = xenib_attach_mcast,
	.bind_mw = xenib_bind_mw,
	.close_xrcd = xenib_close_xrcd,
	.create_ah = xenib_create_ah,
	.create_cq = xenib_create_cq,
	.create_cq_ex = xenib_create_cq_ex,
	.create_qp = xenib_create_qp,
	.create_qp_ex = xenib_create_qp_ex,
	.create_srq = xenib_create_srq,
	.create_srq_ex = xenib_create_srq_ex,
	.dealloc_mw = xenib_dealloc_mw,
	.dealloc_pd = xenib_dealloc_pd,
	.dereg_mr = xenib_dereg_mr,
	.destroy_ah = xenib_destroy_ah,
	.destroy_cq = xenib_destroy_cq,
	.destroy_qp = xenib_destroy_qp,
	.destroy_srq = xenib_destroy_srq,
	.detach_mcast = xenib_detach_mcast,
	.free_context = xenib_free_context,
	.get_srq_num = xenib_get_srq_num,
	.import_mr = xenib_import_mr,
	.import_pd = xenib_import_pd,
	.modify_qp = xenib_modify_qp,
	.modify_srq = xenib_modify_srq,
	.open_xrcd = xenib_open_xrcd,
	.poll_cq = xenib_poll_cq,
	.post_recv = xenib_post_recv,
	.post_send = xenib_post_send,
	.post_srq_recv = xenib_post_srq_recv,
	.query_device_ex = xenib_query_device_ex,
	.query_port = xenib_query_port,
	.query_qp = xenib_query_qp,
	.query_srq = xenib_query_srq,
	.reg_mr = xenib_reg_mr,
	.req_notify_cq = xenib_req_notify_cq,
	.rereg_mr = xenib_rereg_mr,
	.resize_cq = xenib_resize_cq,
	.unimport_mr = xenib_unimport_mr,
	.unimport_pd = xenib_unimport_pd,

	.query_gid_ex = xenib_query_gid_ex,
	.query_pkey = xenib_query_pkey,
	.query_table_sizes = xenib_query_table_sizes,
	.create_comp_channel = xenib_create_comp_channel,
	.destroy_comp_channel = xenib_destroy_comp_channel,
	.get_cq_event = xenib_get_cq_event,
	.get_async_event = xenib_get_async_event,
	.qp_to_qp_ex = xenib_qp_to_qp_ex,
};

static const struct verbs_device_ops xenib_dev_ops = {
	.name = "xenib",
	.match_min_abi_version = VERBS_DISCOVERY_ABI,
	.match_max_abi_version = VERBS_DISCOVERY_ABI,
	.discover = xenib_discover,
	.alloc_context = xenib_alloc_context,
	.import_context = xenib_import_context,
};

static void __attribute__((constructor)) xenib_register(void)
{
	const char *dbg = getenv("XENIB_DEBUG");

	const char *yield = getenv("XENIB_POLL_YIELD");

	xenib_debug_enabled = dbg && *dbg && strcmp(dbg, "0");
	if (yield && *yield)
		xenib_poll_yield = strtoul(yield, NULL, 0);
	verbs_register_driver_34(&xenib_dev_ops);
}
