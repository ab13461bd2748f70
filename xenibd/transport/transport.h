/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The hypervisor transport of a context: how its control channel answers,
 * how the guest's memory and notifiers reach the backend.  Chosen once,
 * when the transport creates the context (transport/emu.c for the
 * embedded emulation, transport/xen/ for real Xen), and used by the device
 * model through ctx->tp only; nothing above this layer knows which one a
 * context has.
 *
 * Objects with transport state (contexts, regions, notifiers) are allocated
 * by the transport, which embeds the device model's struct at the start of
 * its own (container_of gets it back).
 */
#ifndef XENIBD_TRANSPORT_H
#define XENIBD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rdma/xenib-abi.h>

struct xd_ctx;
struct xd_region;
struct xd_notify;

struct xd_transport {
	const char *name;
	/*
	 * The guest's CLOCK_MONOTONIC is ours (same kernel): its kick
	 * timestamps (ctx page kick_ns) give wake-up latencies.
	 */
	bool same_clock;
	/*
	 * HELLO: the guest the context belongs to, given the name the guest
	 * claims (the emulation trusts it; Xen uses the domain's).
	 */
	int (*guest_name)(struct xd_ctx *ctx, const char *claimed,
			  char *name, size_t len);
	/* Answer the request being handled.  0 or errno. */
	int (*reply)(struct xd_ctx *ctx, const void *resp, size_t len);
	/* "pid 123" / "domain 5 ctx 0", for log lines. */
	void (*describe)(const struct xd_ctx *ctx, char *buf, size_t len);
	/* After the device model freed the context's objects: free ctx. */
	void (*release)(struct xd_ctx *ctx);

	/*
	 * MAP_REGION: map the guest memory req names (*fd: what came with
	 * the request; set it to -1 when the region keeps it) and return a
	 * region with va and len set.  0 or errno.
	 */
	int (*region_map)(struct xd_ctx *ctx,
			  const struct xenib_map_region_req *req, int *fd,
			  struct xd_region **out);
	void (*region_free)(struct xd_region *r);
	/*
	 * MR views: map pages [off, off + len) of r writable at the fixed
	 * address at (inside a reservation of the MR's); unmap keeps the
	 * reservation.  0 or errno (EBUSY: r's memory is not reachable now).
	 */
	int (*segment_map)(struct xd_region *r, uint64_t off, size_t len,
			   void *at);
	void (*segment_unmap)(struct xd_region *r, void *at, size_t len);

	/* BIND_NOTIFY: a notifier of req->kind (*fd as for region_map). */
	int (*notify_bind)(struct xd_ctx *ctx,
			   const struct xenib_bind_notify_req *req, int *fd,
			   struct xd_notify **out);
	/* Signal the guest (never blocks); unbinds and frees. */
	void (*notify_signal)(struct xd_notify *n);
	void (*notify_free)(struct xd_notify *n);

	/*
	 * Requests of the transport's own (RESUME_*), NULL if none, with the
	 * fd that came along (*fd as for region_map).  request_phase says
	 * whether the context takes only those now (true) or only device
	 * requests (false).
	 */
	int (*request)(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		       size_t len, int *fd);
	bool (*request_phase)(const struct xd_ctx *ctx);

	/*
	 * Migration between hosts (docs/migration.md); NULL where the
	 * transport cannot move its guests (the handover is refused).
	 *
	 * freeze: stop serving ctx's control channel (requests wait unread;
	 * the device model stops its rings, ctx->frozen); thaw: serve again.
	 * move: tell the guest of ctx to go to dest (this transport's
	 * address of the destination backend, xd_transport.addr there) and
	 * take over the context with token there; the device model then
	 * destroys ctx without touching the guest's memory.  0 or errno.
	 * adopt: a context of guest g (its nctx counted) that the guest
	 * takes over with token; no channel until then.  addr: where this
	 * backend's guests of this transport reach it ("" if nowhere).
	 */
	int (*freeze)(struct xd_ctx *ctx);
	void (*thaw)(struct xd_ctx *ctx);
	int (*move)(struct xd_ctx *ctx, const char *token, const char *dest);
	struct xd_ctx *(*adopt)(struct xd_guest *g, const char *token);
	const char *(*addr)(void);

	/*
	 * ATTACH (share.c): a new context of this transport on channel fd
	 * (taken on success), for device dev_name of ctx's (ENODEV if it is
	 * not ctx's device).  NULL with *err set on failure.  NULL hook: the
	 * transport cannot share contexts.
	 */
	struct xd_ctx *(*attach)(struct xd_ctx *ctx, int fd,
				 const char *dev_name, int *err);
	/*
	 * May an attached context's process use the device at all (the
	 * emulation: its node's mode)?  0 or errno (answered to it).  NULL:
	 * the transport's contexts are all admitted.
	 */
	int (*admit)(struct xd_ctx *ctx);
	/*
	 * The context becomes a zombie (share.c): close its channel now; its
	 * memory (regions) stays until release.
	 */
	void (*hangup)(struct xd_ctx *ctx);
};

struct xd_guest;
/* The transports of this backend, for a migration's destination. */
const struct xd_transport *xd_transport_by_name(const char *name);

#endif /* XENIBD_TRANSPORT_H */
