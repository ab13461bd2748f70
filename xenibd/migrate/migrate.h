/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Migration between hosts (docs/migration.md): a guest's contexts move
 * from this backend to another host's, or arrive here from another's.
 *
 *   snap_save.c snap_load.c build.c   the snapshot and its rebuilding
 *   adopt.c      the destination's contexts until their guest is back,
 *                LIDs answered "paused" meanwhile
 *
 * The handover between the two backends is the fabric's
 * (fabric/mig_src.c, fabric/mig_dst.c): this layer knows no other host.
 */
#ifndef XENIBD_MIGRATE_H
#define XENIBD_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <rdma/xenib-abi.h>

struct xd_ctx;
struct xd_guest;

/*
 * Destination (adopt.c): take over snapshot s (always: it is freed with
 * the adoption or on error): guest slot with its identity, one context
 * per snapshot context made by tp->adopt with the snapshot's tokens, each
 * destroyed if its guest has not taken it over within timeout_ns.  0 or
 * errno (EEXIST: the guest is here already; EUSERS: no guest slot).
 * xm_adopt_cancel() undoes it before any context was taken over.
 */
struct xm_snap;
struct xd_transport;
int xm_adopt_guest(struct xm_snap *s, const struct xd_transport *tp,
		   uint64_t timeout_ns, struct xd_guest **g);
void xm_adopt_cancel(struct xd_guest *g);
/* Called when an adopted context runs here (the fabric's bookkeeping). */
extern void (*xm_resumed_hook)(struct xd_ctx *ctx);

/*
 * Source: lid just left this host; until its peers know (a few seconds),
 * requests for it are answered "paused".  Cleared if it comes back.
 */
void xm_tombstone(uint16_t lid);
void xm_tombstone_clear(uint16_t lid);

/*
 * Destination: a request on a context adopted from another host, before
 * it runs here (RESUME_REGION, RESUME_NOTIFY, RESUME_DONE).  0 or errno.
 */
int xm_resume_request(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		      size_t len, int *fd);
/* The part of its snapshot an adopted context is rebuilt from. */
struct xm_snap_ctx;
const struct xm_snap_ctx *xm_adopt_snap(const struct xd_ctx *ctx);
/* Does ctx take only RESUME_* requests now (adopted, not resumed)? */
bool xm_resuming(const struct xd_ctx *ctx);
/* The adoption of ctx ends with it (the context is being destroyed). */
void xm_adopt_gone(struct xd_ctx *ctx);

/*
 * Are requests for LID lid to be answered "paused" (its guest is on its
 * way here, or left here moments ago and its peers do not know yet)?
 */
bool xm_lid_paused(uint16_t lid);

/* Timers: adopted contexts nobody took over. */
void xm_tick(uint64_t *next_ns);

#endif /* XENIBD_MIGRATE_H */
