// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenib provider: registration, device discovery, context open/close.
 *
 * The provider is a "discovery provider" of our libibverbs
 * (libibverbs/driver.h): there is no kernel device in the guest, so it
 * enumerates the devices the backend offers itself.  In the emulated
 * hypervisor every <run dir>/xenib*.sock socket is one device; over real
 * Xen every device/xenib/N node xenibd wrote into our xenstore home is
 * device xenibN (util/hv_xen.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "xenib.h"

int xenib_debug_enabled;
unsigned int xenib_poll_yield = 16;

/* Discovery must not hang ibv_get_device_list() on a stuck backend. */
#define XENIB_DISCOVER_TIMEOUT_S 5

static const struct verbs_context_ops xenib_ctx_ops;

/* ------------------------------------------------------------------ */
/* Discovery                                                           */

static int name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = strlen(x), ly = strlen(y);

	/* xenib2 before xenib10 */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
}

/* "xenib0.sock" -> "xenib0"; NULL if the entry is not a device socket. */
static char *dev_name_of(const char *file)
{
	size_t len = strlen(file);
	const size_t sfx = sizeof(".sock") - 1;

	if (strncmp(file, "xenib", 5) || len <= sfx + 5 ||
	    strcmp(file + len - sfx, ".sock") || len - sfx >= IBV_SYSFS_NAME_MAX)
		return NULL;
	return strndup(file, len - sfx);
}

/*
 * Control channel to device name: a socket to the emulated hypervisor's
 * xenibd, or over Xen the provider end of a relayed mailbox (*xconn).
 * Returns the socket or -errno.
 */
static int dev_connect(const char *name, struct hv_xen_conn **xconn)
{
	unsigned int idx;
	char *end;
	int sock, err;

	*xconn = NULL;
	if (!hv_xen_wanted())
		return hv_emu_connect(name);
	idx = (unsigned int)strtoul(name + 5, &end, 10);
	if (strncmp(name, "xenib", 5) || end == name + 5 || *end)
		return -ENODEV;
	err = hv_xen_connect(idx, xconn, &sock);
	return err ? -err : sock;
}

static void dev_close(int sock, struct hv_xen_conn *xconn)
{
	close(sock);
	hv_xen_disconnect(xconn);
}

static void probe_one(const char *name, verbs_discover_add_fn add,
		      void *cookie)
{
	struct timeval tv = { .tv_sec = XENIB_DISCOVER_TIMEOUT_S };
	struct verbs_discovered_device dev;
	struct xenib_hello_resp resp;
	struct hv_xen_conn *xconn;
	int sock, err;

	sock = dev_connect(name, &xconn);
	if (sock < 0) {
		/* A stale socket of a stopped xenibd: not a device. */
		xenib_dbg("skipping %s: cannot connect: %s", name,
			  strerror(-sock));
		return;
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	err = xenib_hello(sock, &resp);
	dev_close(sock, xconn);
	if (err == EPROTONOSUPPORT) {
		xenib_err("skipping %s: xenibd speaks ABI %u, this provider ABI %u",
			  name, resp.abi_version, XENIB_ABI_VERSION);
		return;
	}
	if (err) {
		xenib_dbg("skipping %s: HELLO failed: %s", name, strerror(err));
		return;
	}

	memset(&dev, 0, sizeof(dev));
	snprintf(dev.name, sizeof(dev.name), "%s", name);
	snprintf(dev.dev_id, sizeof(dev.dev_id), "%s", name);
	dev.node_type = IBV_NODE_CA;
	dev.transport_type = IBV_TRANSPORT_IB;
	dev.node_guid = resp.dev.node_guid;	/* already network order */
	xenib_dbg("found %s (guest id %u)", name, resp.guest_id);
	add(cookie, &dev);
}

/* Real Xen: the device nodes xenibd wrote into our xenstore home. */
static int xen_discover(verbs_discover_add_fn add, void *cookie)
{
	unsigned int idx[16];
	char name[16];
	int n, i;

	n = hv_xen_list_devices(idx, 16);
	if (n < 0) {
		xenib_dbg("xenstore: %s", strerror(-n));
		return 0;
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "xenib%u", idx[i]);
		probe_one(name, add, cookie);
	}
	return 0;
}

static int xenib_discover(verbs_discover_add_fn add, void *cookie)
{
	const char *dir = hv_emu_dir();
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	if (hv_xen_wanted())
		return xen_discover(add, cookie);
	d = opendir(dir);
	if (!d) {
		xenib_dbg("no run directory %s: %s", dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d))) {
		char *name = dev_name_of(de->d_name);

		if (!name)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 8) *
						   sizeof(*names));

			if (!nn) {
				free(name);
				break;
			}
			names = nn;
			cap = cap ? cap * 2 : 8;
		}
		names[n++] = name;
	}
	closedir(d);

	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		probe_one(names[i], add, cookie);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Context                                                             */

static int open_channel(struct xenib_context *ctx)
{
	struct xenib_hello_resp hello;
	char path[108];
	int err;

	ctx->sock = dev_connect(ctx->devname, &ctx->xconn);
	if (ctx->sock < 0) {
		err = -ctx->sock;
		if (ctx->xconn || hv_xen_wanted())
			snprintf(path, sizeof(path), "xenstore %s/%s",
				 XENIB_XS_FRONT_DIR, ctx->devname + 5);
		else if (hv_emu_sock_path(path, sizeof(path), hv_emu_dir(),
					  ctx->devname))
			snprintf(path, sizeof(path), "%s", ctx->devname);
		xenib_err("cannot reach xenibd at %s: %s", path, strerror(err));
		return err;
	}
	err = xenib_hello(ctx->sock, &hello);
	if (err == EPROTONOSUPPORT) {
		xenib_err("%s: xenibd speaks ABI %u, this provider ABI %u",
			  ctx->devname, hello.abi_version, XENIB_ABI_VERSION);
		return err;
	}
	if (err) {
		xenib_err("%s: HELLO to xenibd failed: %s", ctx->devname,
			  strerror(err));
		return err;
	}
	ctx->seq = 1;		/* HELLO used seq 1 */
	if (ctx->xconn)
		hv_xen_set_quiesce(ctx->xconn, xenib_quiesce, ctx);
	ctx->guest_id = hello.guest_id;
	ctx->dev_info = hello.dev;
	return 0;
}

static int setup_shared(struct xenib_context *ctx)
{
	int err;

	/* Context page: backend writes backend_sleeping and async events. */
	err = hv_shm_alloc(&ctx->ctx_shm, XENIB_PAGE_SIZE, "ring-xenib-ctx");
	if (err)
		return err;
	ctx->page = ctx->ctx_shm.va;
	err = xenib_map_region(ctx, &ctx->ctx_shm, 1,
			       XENIB_REGION_CTX_PAGE, &ctx->ctx_region);
	if (err)
		return err;

	/* Doorbell: we only signal it (never blocks, see hv.h). */
	err = xenib_notify_create(ctx, XENIB_NOTIFY_DOORBELL, &ctx->doorbell_fd,
				  NULL, &ctx->doorbell_handle);
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
	if (ctx->sock >= 0)
		close(ctx->sock);
	hv_xen_disconnect(ctx->xconn);	/* no-op in the emulation */
	ctx->xconn = NULL;
	xenib_channel_cleanup(ctx);
	xenib_mr_cleanup(ctx);
	if (ctx->doorbell_fd >= 0)
		close(ctx->doorbell_fd);
	if (ctx->async_fd >= 0)
		close(ctx->async_fd);
	if (ctx->async_self >= 0)
		close(ctx->async_self);
	ctx->ibv_ctx.context.async_fd = -1;
	if (ctx->page)
		hv_shm_release(&ctx->ctx_shm, 1);
	pthread_mutex_destroy(&ctx->ctrl_lock);
	pthread_mutex_destroy(&ctx->async_lock);
	pthread_mutex_destroy(&ctx->obj_lock);
	pthread_mutex_destroy(&ctx->mr_lock);
}

static struct verbs_context *xenib_alloc_context(struct verbs_device *vdev)
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
	xenib_list_init(&ctx->cqs);
	xenib_list_init(&ctx->qps);
	xenib_list_init(&ctx->srqs);
	xenib_list_init(&ctx->channels);
	xenib_list_init(&ctx->areas);
	ctx->sock = -1;
	ctx->doorbell_fd = -1;
	ctx->async_fd = -1;
	ctx->async_self = -1;
	ctx->ctx_shm.fd = -1;
	snprintf(ctx->devname, sizeof(ctx->devname), "%s",
		 vdev->dev_id[0] ? vdev->dev_id : vdev->device.name);

	err = open_channel(ctx);
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
	ibctx->num_comp_vectors = 1;
	ibctx->ops.poll_cq = xenib_poll_cq;
	ibctx->ops.req_notify_cq = xenib_req_notify_cq;
	ibctx->ops.post_send = xenib_post_send;
	ibctx->ops.post_recv = xenib_post_recv;
	ibctx->ops.post_srq_recv = xenib_post_srq_recv;
	/* Reached by verbs.h inline code (ibv_query_port, ibv_query_device_ex). */
	ctx->ibv_ctx.query_port = xenib_query_port;
	ctx->ibv_ctx.query_device_ex = xenib_query_device_ex;
	/* Extended verbs (qp_ex.c, cq_ex.c); the library wraps both slots. */
	ctx->ibv_ctx.create_qp_ex = xenib_create_qp_ex;
	ctx->ibv_ctx.create_cq_ex = xenib_create_cq_ex;
	/* srq.c: basic and XRC SRQs through create_srq_ex; XRC domains. */
	ctx->ibv_ctx.create_srq_ex = xenib_create_srq_ex;
	ctx->ibv_ctx.open_xrcd = xenib_open_xrcd;
	ctx->ibv_ctx.close_xrcd = xenib_close_xrcd;
	ctx->ibv_ctx.get_srq_num = xenib_get_srq_num;
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

static const struct verbs_context_ops xenib_ctx_ops = {
	.free_context = xenib_free_context,

	.query_device_ex = xenib_query_device_ex,
	.query_port = xenib_query_port,
	.query_gid_ex = xenib_query_gid_ex,
	.query_pkey = xenib_query_pkey,
	.query_table_sizes = xenib_query_table_sizes,

	.alloc_pd = xenib_alloc_pd,
	.dealloc_pd = xenib_dealloc_pd,

	.reg_mr = xenib_reg_mr,
	.dereg_mr = xenib_dereg_mr,

	.create_cq = xenib_create_cq,
	.resize_cq = xenib_resize_cq,
	.destroy_cq = xenib_destroy_cq,

	.create_srq = xenib_create_srq,
	.modify_srq = xenib_modify_srq,
	.query_srq = xenib_query_srq,
	.destroy_srq = xenib_destroy_srq,

	.create_qp = xenib_create_qp,
	.query_qp = xenib_query_qp,
	.modify_qp = xenib_modify_qp,
	.destroy_qp = xenib_destroy_qp,

	.create_ah = xenib_create_ah,
	.destroy_ah = xenib_destroy_ah,

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
