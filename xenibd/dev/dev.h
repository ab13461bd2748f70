/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd: the dom0 backend.  It owns every resource a guest uses, validates
 * every byte a guest sends, and gives guests only virtual handles.
 *
 * Threading: one thread.  The main loop (main.c) services control channels
 * and runs the WQE engine (engine.c); it polls while there is work and sleeps
 * in epoll after telling the guests to kick it.  Nothing here takes a lock.
 */
#ifndef XENIBD_DEV_H
#define XENIBD_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>

#include "xenibd/daemon/config.h"
#include "xenibd/daemon/log.h"
#include "util/list.h"
#include "xenibd/dev/handles.h"
#include "xenibd/engine/engine.h"

struct xd_ctx;
struct xm_out;
struct xm_adopt;
struct xd_transport;
struct cm_chan;

/* What a guest is charged for (xd.cfg.limits, quota.c). */
enum xd_quota {
	XD_Q_QPS, XD_Q_CQS, XD_Q_SRQS, XD_Q_PDS, XD_Q_MRS, XD_Q_REGIONS,
	XD_Q_NOTIFIERS, XD_Q_MR_BYTES, XD_Q_REGION_BYTES, XD_Q_XRCDS,
	XD_Q_AHS,
	XD_Q_MAPPINGS,		/* backend mappings: regions + MR segments */
	XD_Q_MAP_PAGES,		/* pages they map (MR pages map twice) */
	XD_Q_FDS,		/* emulation: fds held (memfds, notifiers) */
	XD_Q_MAX
};

/*
 * A guest: one domain (Xen) or one emulated guest name.  Its identity
 * (LID, GUID) comes from the identity allocator (identity.c) and every
 * handle it sees (QPN, SRQN, lkey/rkey, CQ, PD, AH, XRC domain, region and
 * notifier handles) from its own tables, shared by its contexts: a
 * guest's handle values depend on nothing but its own history, so another
 * backend can recreate them exactly.
 */
struct xd_guest {
	char name[64];
	uint32_t id;		/* index in xd.guests */
	uint16_t lid;		/* virtual LID */
	uint64_t guid;		/* virtual port/node GUID, host order */
	unsigned int nctx;	/* open contexts */
	unsigned int ncm;	/* of which rdma_cm event channels */
	/*
	 * The identity allocator is still working on its LID and GUID (a
	 * cluster directory): HELLOs wait (xd_guest_ident_done).
	 */
	bool ident_pending;
	/*
	 * Migration (migrate/): the next object made gets this handle (0:
	 * the table picks one); the guest is arriving from another host
	 * (peers' requests are answered "paused" until its objects exist);
	 * its handover is under way (struct xm_out, migrate/).
	 */
	uint32_t forced_handle;
	bool incoming;
	struct xm_out *outgoing;
	/* Multicast attachments of its UD QPs (mcast.c; not migrated). */
	unsigned int mcast_atts;
	uint64_t used[XD_Q_MAX];	/* over all its contexts */
	struct xd_ratelimit log_rl;	/* xd_ctx_log, all its contexts */
	struct xd_table regions, notifiers, pds, mrs, cqs, qps, srqs, ahs;
	struct xd_table xrcds;
	struct xd_table mws;		/* memory windows (mw.c) */
};

/*
 * Guest memory the backend has mapped (MAP_REGION); the transport's
 * region embeds it (transport.h).
 */
struct xd_region {
	struct xd_handle h;
	struct xd_ctx *ctx;
	void *va;		/* backend mapping */
	size_t len;
	/* MAP_REGION's offset into the object (a migration maps it again). */
	uint64_t offset;
	unsigned int refs;	/* rings and MR segments using it */
	bool ctx_page;
	struct list_node link;	/* on ctx->regions */
};

/* A notifier; the transport's embeds it. */
struct xd_notify {
	struct xd_handle h;
	struct xd_ctx *ctx;
	uint32_t kind;
	unsigned int refs;	/* CQs signalling through it */
	struct list_node link;	/* on ctx->notifiers */
};

struct xd_pd {
	struct xd_handle h;
	struct xd_ctx *ctx;
	unsigned int refs;	/* MRs, QPs, SRQs, AHs, windows */
	unsigned int imports;	/* IMPORTs of other contexts (share.c) */
	struct list_node link;	/* on ctx->pds */
};

struct xd_mr {
	struct xd_handle h;	/* h.id is both lkey and rkey */
	struct xd_ctx *ctx;
	struct xd_pd *pd;
	uint64_t iova;		/* first byte the guest may name */
	uint64_t length;
	uint32_t access;	/* IBV_ACCESS_* */
	char *view;		/* backend view of the page span */
	size_t view_len;
	uint64_t view_iova;	/* iova of view[0] (iova rounded down) */
	struct xd_mr_seg *segs;	/* mapped segments, in view order */
	uint32_t nsegs;
	unsigned int mw_binds;	/* memory windows bound to it (mw.c) */
	unsigned int imports;	/* IMPORTs of other contexts (share.c) */
	struct list_node link;	/* on ctx->mrs */
};

/*
 * A memory window (mw.c): a handle in the guest's mws table, and an rkey
 * XENIB_MW_RKEY_BIT | index << 8 | tag whose tag each bind sets.  Bound:
 * mr is set (type 1 may also be bound with length 0, mr NULL).  Type 2
 * remembers the QP it was bound through (its QPN: a QP destroyed since
 * has another handle) and is reachable only through it.
 */
struct xd_mw {
	struct xd_handle h;
	struct xd_ctx *ctx;
	struct xd_pd *pd;
	uint32_t type;		/* IBV_MW_TYPE_1, IBV_MW_TYPE_2 */
	uint32_t rkey;
	struct xd_mr *mr;	/* bound to (holds mr->mw_binds), or NULL */
	uint32_t qpn;		/* type 2: bound through this QP */
	uint64_t addr, length;
	uint32_t access;	/* IBV_ACCESS_REMOTE_* | ZERO_BASED */
	struct list_node link;	/* on ctx->mws */
};

/* One segment of an MR view: region pages [offset, offset + length). */
struct xd_mr_seg {
	struct xd_region *r;
	uint64_t offset;
	uint64_t length;
	size_t pos;		/* in the view */
};

/* A ring in guest memory; only the backend's own indices are trusted. */
struct xd_ring {
	struct xd_region *region;
	struct xenib_ring_hdr *hdr;
	uint32_t entries;
	uint32_t stride;
	uint32_t idx;		/* backend's private index (cons or prod) */
	/* Consumer side: the guest's producer index as last read. */
	uint32_t seen;
	bool dirty;		/* idx not yet published (batch.c) */
	/* Receive rings: the post_kick and kick_idx we wrote last. */
	uint32_t kick, kick_at;
};

struct xd_cq {
	struct xd_handle h;
	struct xd_ctx *ctx;
	struct xd_ring ring;	/* backend produces */
	struct xd_notify *notify;
	uint32_t events;	/* backend's copy of hdr->events */
	unsigned int refs;	/* QPs */
	bool overrun;
	bool batched;		/* CQEs written, prod not yet published */
	bool batch_event;	/* one of those may raise the completion event */
	struct list_node link;	/* on ctx->cqs */
};

/*
 * XRC domain (xrcd.c): groups XRC SRQs and XRC_RECV QPs, possibly of
 * several contexts of one guest (keyed domains).
 */
struct xd_xrcd_dom {
	struct xd_guest *guest;
	bool keyed;
	uint64_t dev, ino;	/* the guest's key, if keyed */
	unsigned int opens;	/* struct xd_xrcd handles naming it */
};

/* One context's handle for an XRC domain. */
struct xd_xrcd {
	struct xd_handle h;
	struct xd_ctx *ctx;
	struct xd_xrcd_dom *dom;
	unsigned int refs;	/* XRC SRQs and XRC_RECV QPs made through it */
	struct list_node link;	/* on ctx->xrcds */
};

/* Shared receive queue: basic, or XRC (xrcd and cq set). */
struct xd_srq {
	struct xd_handle h;	/* h.id is also the SRQ number */
	struct xd_ctx *ctx;
	struct xd_pd *pd;
	struct xd_xrcd *xrcd;	/* XRC SRQ only, else NULL */
	struct xd_cq *cq;	/* XRC SRQ only: receives complete here */
	struct xd_ring ring;	/* guest produces, backend consumes */
	uint32_t max_sge;
	uint32_t limit;		/* armed limit, 0 when disarmed */
	unsigned int refs;	/* QPs */
	struct list_node link;	/* on ctx->srqs */
};

/* Address handle: a validated address vector for UD sends. */
struct xd_ah {
	struct xd_handle h;
	struct xd_ctx *ctx;
	struct xd_pd *pd;
	struct xenib_ah_attr attr;
	struct list_node link;	/* on ctx->ahs */
};

struct xd_qp {
	struct xd_handle h;	/* h.id is the virtual QPN */
	struct xd_ctx *ctx;
	struct xd_pd *pd;
	struct xd_cq *send_cq, *recv_cq;
	struct xd_ring sq, rq;	/* guest produces, backend consumes */
	struct xd_srq *srq;	/* receives come from here; rq unused */
	/*
	 * XRC_RECV only: its domain.  Such a QP has no rings, CQs or PD of
	 * its own and is not on xd.qps; its receives go to the XRC SRQ each
	 * request names (engine/xrc.c).  XRC_SEND: recv_cq NULL, no RQ.
	 */
	struct xd_xrcd *xrcd;
	uint32_t qp_type;
	bool sq_sig_all;
	uint32_t max_send_sge, max_recv_sge, max_inline;
	struct xenib_qp_attr attr;	/* current attributes */
	struct xd_qp_eng *eng;		/* the engine's state (engine/eng.h) */
	unsigned int mcast;		/* multicast groups attached (mcast.c) */
	struct list_node active;	/* on xd.qps, for the engine */
	struct list_node link;		/* on ctx->qps */
};

/*
 * A device context: one guest process's control channel and everything
 * it created, on its lists (destroy, freeze and resume walk them).  The
 * transport that made it embeds it and is fixed for its life.
 */
struct xd_ctx {
	const struct xd_transport *tp;
	struct xd_guest *guest;
	bool hello;
	bool cm_only;		/* an rdma_cm event channel (XENIB_HELLO_CM_CHANNEL) */
	/* HELLO waits for the guest's identity: its answer is due later. */
	bool hello_pending;
	uint32_t hello_seq;
	/*
	 * Xen: the guest is suspended (xen.c, RESUME): its grants are
	 * unmapped (PROT_NONE placeholders), so nothing may touch its rings,
	 * pages or MR views; the engine skips its QPs and holds peers' WQEs
	 * aimed at it.
	 */
	bool frozen;
	/*
	 * Migration: objects are being recreated from a snapshot: ring
	 * attachment leaves the guest's indices alone (the snapshot has
	 * ours).  adopt: the snapshot it is built from, until RESUME_DONE.
	 */
	bool adopting;
	struct xm_adopt *adopt;
	struct xd_region *ctx_page_region;
	struct xenib_ctx_page *page;	/* NULL until mapped */
	struct xd_notify *doorbell, *async;
	struct cm_chan *cm;		/* xenibd/cm/: an rdma_cm event channel */
	uint32_t async_prod;
	unsigned int nobj;		/* objects owned, for accounting */
	struct list_node regions, notifiers, pds, mrs, cqs, qps, srqs, ahs;
	struct list_node xrcds;
	struct list_node mws;
	/*
	 * Sharing (share.c, ATTACH): the group of contexts whose PDs and MRs
	 * are one namespace, the PDs and MRs of others this one imported, and
	 * zombie: its channel closed while others still used what it made.
	 */
	struct xd_share *share;
	struct list_node share_link;	/* on share->members */
	struct list_node imports;	/* struct xd_import */
	bool zombie;
	struct list_node link;	/* on xd.ctxs */
};

struct xd_stats {
	long guests, contexts, pds, mrs, cqs, qps, regions, notifiers;
	long srqs, ahs, xrcds, mws;
	long long mr_bytes;
	long long mr_regs, mr_reg_bytes;	/* REG_MRs done since start */
	long long mappings, map_pages;	/* backend-wide (quota.c) */
	long long ctrl_errors, ctrl_msgs;
	long long wqes;
	long long doorbells;	/* guest kicks received (backend was asleep) */
	long long sleeps;	/* times the loop armed kicks and slept */
	/* The idle policy (daemon/idle.c) and batching (batch.c). */
	long long idle_yields;	/* yields while idle */
	long long costly_yields;	/* of them, dearer than a sleep */
	long long rnr_yields;	/* yields before an RNR NAK (responder.c) */
	long long rnr_saved;	/* of them, a receive came meanwhile */
	long long rnr_early;	/* RNR stalls ended before their timer */
	long long cqes, cq_publishes;	/* CQEs written; batches published */
	long long wake_n;	/* kick-to-wake-up latency samples */
	long long wake_sum_ns, wake_max_ns;
	long long wake_log2[24];	/* samples in [2^i, 2^(i+1)) ns */
};

struct xd_state {
	struct xd_config cfg;
	int epfd;
	struct list_node ctxs;
	struct list_node qps;		/* every QP with queues, for the engine */
	struct xd_guest *guests;	/* cfg.max_guests entries */
	struct xd_guest **by_lid;	/* 65536 entries: LID -> guest */
	struct xd_stats stats;
	uint64_t now_ns;
	uint64_t armed_ns;		/* the loop last raised backend_sleeping */
};

extern struct xd_state xd;

/* state.c: tables and lists for xd.cfg (set cfg first). 0 or errno. */
int xd_state_init(void);

/*
 * quota.c: per-guest limits.  Check before creating (EDQUOT for a count,
 * ENOMEM for bytes and mappings, with a log line), charge once created,
 * and uncharge when freed.  A context without a guest (before HELLO) is
 * not charged.  Mappings and their pages are also counted backend-wide
 * (limit.total_*), and checked against both.
 */
int xd_quota_check(struct xd_ctx *ctx, enum xd_quota q, uint64_t n);
void xd_quota_charge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n);
void xd_quota_uncharge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n);
/* Mappings no guest is charged for (Xen mailboxes): backend-wide only. */
int xd_map_check(uint64_t mappings, uint64_t pages);
void xd_map_account(int64_t mappings, int64_t pages);

/*
 * obj.c: what every object of a context shares.  Each object struct starts
 * with these two members (struct xd_owned), then has its own.
 */
struct xd_owned {
	struct xd_handle h;
	struct xd_ctx *ctx;
};

enum xd_kind {
	XD_KIND_REGION, XD_KIND_NOTIFY, XD_KIND_PD, XD_KIND_MR, XD_KIND_CQ,
	XD_KIND_QP, XD_KIND_SRQ, XD_KIND_AH, XD_KIND_XRCD, XD_KIND_MW,
	XD_KIND_MAX
};

/* The guest's handle table of kind k. */
struct xd_table *xd_obj_table(const struct xd_guest *g, enum xd_kind k);
/* May ctx create one more object of kind k (HELLO done, quota)? 0/errno */
int xd_obj_check(struct xd_ctx *ctx, enum xd_kind k);
/*
 * Give h (the start of a new object) a handle of its guest's, put link on
 * ctx's list of kind k, charge it.  0 or errno (nothing done).
 */
int xd_obj_add(struct xd_ctx *ctx, enum xd_kind k, struct xd_handle *h,
	       struct list_node *link);
void xd_obj_del(enum xd_kind k, struct xd_handle *h, struct list_node *link);
/* The object of kind k called handle, if it is ctx's; else NULL.  O(1). */
void *xd_obj_lookup(const struct xd_ctx *ctx, enum xd_kind k, uint32_t handle);

/* identity.c: the identity allocator (its default: this backend alone). */
#define XD_SM_LID		1
#define XD_MAX_UNICAST_LID	0xc000	/* 0x0001..0xbfff */
struct xd_identity {
	uint16_t lid;
	uint64_t guid;		/* host order */
};

struct xd_identity_ops {
	const char *name;
	/*
	 * The identity of guest g (g->name; g->id its slot here), the same
	 * for as long as the guest lives: 0 with *id filled, EINPROGRESS
	 * (the allocator calls xd_guest_ident_done(g, ...) later), or errno.
	 */
	int (*acquire)(struct xd_guest *g, struct xd_identity *id);
	/* g goes away here (its slot is reused, or the backend stops). */
	void (*release)(struct xd_guest *g);
};

extern const struct xd_identity_ops *xd_identity;

/* guest.c */
/* The guest called name, one more context of it (*g). 0 or errno. */
int xd_guest_attach(const char *name, struct xd_guest **g);
/*
 * Migration: a guest arriving from another host with its identity (it
 * holds no context yet; g->incoming set): 0, EEXIST (it is here), EUSERS
 * (no slot) or the LID's owner's EEXIST.  A guest that moved away is
 * forgotten without giving its identity back (it keeps it elsewhere).
 */
int xd_guest_adopt(const char *name, uint16_t lid, uint64_t guid,
		   struct xd_guest **g);
void xd_guest_moved_away(struct xd_guest *g);
/* The same, NULL on error (in-process tests and fuzzers). */
struct xd_guest *xd_guest_get(const char *name);
void xd_guest_put(struct xd_guest *g);
/* The guest's verbs contexts (limit.contexts): all but its event channels. */
static inline unsigned int xd_guest_verbs_ctx(const struct xd_guest *g)
{
	return g->nctx - g->ncm;
}
/* At exit: forget every guest (no context is left). */
void xd_guest_fini(void);
/*
 * The identity allocator's late answer for g: its identity (err 0), or
 * why not; the HELLOs waiting for it are answered.
 */
void xd_guest_ident_done(struct xd_guest *g, int err,
			 const struct xd_identity *id);
/* The guest with virtual LID lid on this backend, or NULL.  O(1). */
static inline struct xd_guest *xd_guest_by_lid(uint16_t lid)
{
	return xd.by_lid ? xd.by_lid[lid] : NULL;
}
void xd_guest_port(const struct xd_guest *g, struct xenib_port_info *port);
void xd_guest_device(const struct xd_guest *g, struct xenib_device_info *dev);

/* ctrl.c: one control message in, one response out */
void xd_ctrl_handle(struct xd_ctx *ctx, void *msg, ssize_t len, int fd);
/* Answer a HELLO that waited for the guest's identity (err 0: it came). */
void xd_ctrl_hello_done(struct xd_ctx *ctx, int err);

/* ctx.c */
/* A context a transport made (ctx embedded in its own struct). */
void xd_ctx_init(struct xd_ctx *ctx, const struct xd_transport *tp);
void xd_ctx_destroy(struct xd_ctx *ctx);
/* Teardown order of the kinds: dependents first. */
extern const enum xd_kind xd_ctx_order[XD_KIND_MAX];
/* Free every object of kind k ctx has. */
void xd_ctx_free_kind(struct xd_ctx *ctx, enum xd_kind k);
/* The end of a context whose objects are all gone: the transport's. */
void xd_ctx_release(struct xd_ctx *ctx);
void xd_ctx_post_async(struct xd_ctx *ctx, uint32_t type, uint32_t handle);
/* Answer the request being handled (the context's transport). */
int xd_ctx_reply(struct xd_ctx *ctx, const void *resp, size_t len);

/* region.c */
int xd_region_map(struct xd_ctx *ctx, const struct xenib_map_region_req *req,
		  int *fd, uint32_t *handle);
/* The checks both transports' regions get; 0 or errno. */
int xd_region_check(struct xd_ctx *ctx, uint64_t offset, uint32_t npages,
		    uint32_t flags);
int xd_region_unmap(struct xd_ctx *ctx, uint32_t handle);
struct xd_region *xd_region_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_region_free(struct xd_region *r);
int xd_ring_attach(struct xd_ctx *ctx, struct xd_ring *ring,
		   const struct xenib_ring_desc *d, uint32_t min_stride);
void xd_ring_detach(struct xd_ring *ring);

/* notify.c */
int xd_notify_bind(struct xd_ctx *ctx, const struct xenib_bind_notify_req *req,
		   int *fd, uint32_t *handle);
/* A doorbell rang (the transport counts it; the loop then polls). */
void xd_notify_doorbell(struct xd_notify *n, uint64_t kicks);
/*
 * Told of every kick handled (daemon/idle.c): its kick-to-wake-up latency,
 * 0 if it cannot be measured; or NULL.
 */
extern void (*xd_wake_hook)(uint64_t ns);
/* Signal the guest through n (never blocks). */
void xd_notify_signal(struct xd_notify *n);
int xd_notify_unbind(struct xd_ctx *ctx, uint32_t handle);
struct xd_notify *xd_notify_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_notify_free(struct xd_notify *n);

/* pd.c */
int xd_pd_alloc(struct xd_ctx *ctx, uint32_t *handle);
int xd_pd_dealloc(struct xd_ctx *ctx, uint32_t handle);
struct xd_pd *xd_pd_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_pd_free(struct xd_pd *pd);

/* mr.c */
int xd_mr_reg(struct xd_ctx *ctx, const struct xenib_reg_mr_req *req,
	      size_t len, uint32_t *key);
int xd_mr_dereg(struct xd_ctx *ctx, uint32_t key);
void xd_mr_free(struct xd_mr *mr);
/*
 * Fast-path translation: the backend address of [addr, addr + len) through
 * key, or NULL if the key is unknown, belongs to another PD, lacks access
 * or the range is out of bounds.  O(1), allocation-free.
 */
void *xd_mr_translate(uint32_t key, const struct xd_pd *pd, uint64_t addr,
		      uint64_t len, uint32_t need_access);

/*
 * An MR for req in pd, checked and its view mapped, in no table yet (h.id
 * 0; xd_mr_free undoes it).  0 or errno.
 */
int xd_mr_build(struct xd_ctx *ctx, const struct xenib_reg_mr_req *req,
		size_t len, struct xd_pd *pd, struct xd_mr **out);
/* Charge (sign > 0) or uncharge the quotas of mr's bytes and mappings. */
void xd_mr_charge(struct xd_mr *mr, int sign);
/* mr_rereg.c: REREG_MR (xenib-abi.h); the MR's new key in *key */
int xd_mr_rereg(struct xd_ctx *ctx, const struct xenib_rereg_mr_req *req,
		size_t len, uint32_t *key);

/*
 * share.c: contexts sharing PDs and MRs (ATTACH, IMPORT, UNIMPORT in
 * xenib-abi.h).  XD_NO_REPLY: a request answered elsewhere (ATTACH).
 */
#define XD_NO_REPLY	(-1)
int xd_share_attach(struct xd_ctx *ctx, const struct xenib_attach_req *req,
		    int *fd);
int xd_share_import(struct xd_ctx *ctx, const struct xenib_import_req *req,
		    struct xenib_import_resp *resp);
int xd_share_unimport(struct xd_ctx *ctx, const struct xenib_import_req *req);
/* Does ctx reach obj_ctx's PDs and MRs (same share group)? */
static inline bool xd_share_reaches(const struct xd_ctx *ctx,
				    const struct xd_ctx *obj_ctx)
{
	return ctx->share && ctx->share == obj_ctx->share;
}
/*
 * ctx's channel is gone: true if it stays as a zombie for what others
 * still use (the caller is done), false if it is to be freed (the group's
 * other members, all zombies, are freed with it).
 */
bool xd_share_leave(struct xd_ctx *ctx);
/* A PD or MR of ctx is freed: no import names it any more. */
void xd_share_forget(struct xd_ctx *ctx, void *obj);
/* Free what zombies of ctx's group kept and nobody uses now. */
void xd_share_reclaim(struct xd_ctx *ctx);

/* mw.c: memory windows */
int xd_mw_alloc(struct xd_ctx *ctx, const struct xenib_alloc_mw_req *req,
		uint32_t *handle, uint32_t *rkey);
int xd_mw_dealloc(struct xd_ctx *ctx, uint32_t handle);
void xd_mw_free(struct xd_mw *mw);
/* Is key a window's rkey (never an MR's)? */
static inline bool xd_mw_key(uint32_t key)
{
	return key & XENIB_MW_RKEY_BIT;
}
/* The window rkey names in pd's guest, or NULL.  O(1). */
struct xd_mw *xd_mw_of_rkey(const struct xd_pd *pd, uint32_t rkey);
/* Unbind: drop the MR (type 2: the window is free again). */
void xd_mw_unbind(struct xd_mw *mw);
/*
 * Fast-path translation of a remote access through a window: as
 * xd_mr_translate, for requests arriving at QP qpn in pd.  O(1).
 */
void *xd_mw_translate(uint32_t rkey, const struct xd_pd *pd, uint32_t qpn,
		      uint64_t addr, uint64_t len, uint32_t need_access);

/* cq.c */
int xd_cq_create(struct xd_ctx *ctx, const struct xenib_create_cq_req *req,
		 uint32_t *handle);
int xd_cq_destroy(struct xd_ctx *ctx, uint32_t handle);
/* cq_resize.c */
int xd_cq_resize(struct xd_ctx *ctx, const struct xenib_resize_cq_req *req);
struct xd_cq *xd_cq_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_cq_free(struct xd_cq *cq);
/*
 * Write one CQE (and raise a completion event if armed); false on overrun.
 * Inside a batch (batch.c) it shows when the batch ends.
 */
bool xd_cq_push(struct xd_cq *cq, const struct xenib_cqe *cqe, bool solicited);
/* batch.c's two steps of publishing a CQ (a full fence between them). */
void xd_cq_publish_prod(struct xd_cq *cq);
void xd_cq_publish_event(struct xd_cq *cq);

/*
 * batch.c: rings and CQs the engine touches in one QP's turn are published
 * once, at the end of the batch: consumer indices first, then CQs.
 */
void xd_batch_begin(void);
void xd_batch_end(void);
/* Publish everything now (a batch may go on). */
void xd_batch_flush(void);
/* A ring or CQ is about to go: nothing of it may stay in the batch. */
void xd_batch_forget(void);
/* Consumer of ring: n more slots are free (published now or at the end). */
void xd_ring_consumed(struct xd_ring *ring, uint32_t n);
/* cq.c: hold cq's publication to the batch's end; false outside one. */
bool xd_batch_defer_cq(struct xd_cq *cq);
/* The time for CQE timestamps: one clock read per batch. */
uint64_t xd_batch_now(void);

/* qp.c */
int xd_qp_create(struct xd_ctx *ctx, const struct xenib_create_qp_req *req,
		 uint32_t *qpn);
int xd_qp_modify(struct xd_ctx *ctx, const struct xenib_modify_qp_req *req);
int xd_qp_query(struct xd_ctx *ctx, uint32_t qpn, struct xenib_qp_attr *attr);
int xd_qp_destroy(struct xd_ctx *ctx, uint32_t qpn);
void xd_qp_free(struct xd_qp *qp);
/* The QP (lid, qpn) names on this backend, or NULL.  O(1). */
struct xd_qp *xd_qp_find(uint16_t lid, uint32_t qpn);
void xd_qp_to_error(struct xd_qp *qp, uint32_t async_event);
/*
 * Migration: set every attribute of a QP made from a snapshot (its state
 * included, no transition run), after the checks MODIFY_QP makes of the
 * attributes that state has.  0 or EINVAL.
 */
int xd_qp_set_attr(struct xd_qp *qp, const struct xenib_qp_attr *a);

/* srq.c */
int xd_srq_create(struct xd_ctx *ctx, const struct xenib_create_srq_req *req,
		  uint32_t *handle);
int xd_srq_modify(struct xd_ctx *ctx, const struct xenib_modify_srq_req *req);
int xd_srq_query(struct xd_ctx *ctx, uint32_t handle,
		 struct xenib_query_srq_resp *resp);
int xd_srq_destroy(struct xd_ctx *ctx, uint32_t handle);
struct xd_srq *xd_srq_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_srq_free(struct xd_srq *srq);

/* xrcd.c: XRC domains */
int xd_xrcd_open(struct xd_ctx *ctx, const struct xenib_open_xrcd_req *req,
		 uint32_t *handle);
int xd_xrcd_close(struct xd_ctx *ctx, uint32_t handle);
struct xd_xrcd *xd_xrcd_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_xrcd_free(struct xd_xrcd *x);

/* ah.c */
int xd_ah_create(struct xd_ctx *ctx, const struct xenib_create_ah_req *req,
		 uint32_t *handle);
int xd_ah_destroy(struct xd_ctx *ctx, uint32_t handle);
void xd_ah_free(struct xd_ah *ah);
/* Fast path: the AH named by a UD WQE of a QP in pd, or NULL. O(1). */
struct xd_ah *xd_ah_get(const struct xd_ctx *ctx, const struct xd_pd *pd,
			uint32_t handle);
/* The QP a datagram for (dlid or GRH dgid, qpn) reaches, or NULL. */
struct xd_qp *xd_ud_resolve(const struct xenib_ah_attr *ah, uint32_t qpn);
/* Check an address vector from a guest: 0 or EINVAL. */
int xd_ah_check(const struct xenib_ah_attr *ah);

/* mcast.c: multicast attachments of UD QPs */
int xd_mcast_attach(struct xd_ctx *ctx, const struct xenib_mcast_req *r);
int xd_mcast_detach(struct xd_ctx *ctx, const struct xenib_mcast_req *r);
void xd_mcast_qp_free(struct xd_qp *qp);
bool xd_mcast_addr(const struct xenib_ah_attr *ah);
void xd_mcast_for_each(const struct xenib_ah_attr *ah,
		       void (*fn)(struct xd_qp *qp, void *arg), void *arg);

/*
 * mcast.c: multicast attachments of UD QPs (ATTACH_MCAST, DETACH_MCAST).
 * The engine fans a send to a group out to its attached QPs
 * (engine/mcast.c).
 */
int xd_mcast_attach(struct xd_ctx *ctx, const struct xenib_mcast_req *r);
int xd_mcast_detach(struct xd_ctx *ctx, const struct xenib_mcast_req *r);
void xd_mcast_qp_free(struct xd_qp *qp);
/* Does ah name a multicast group (MLID, or a GRH with a multicast DGID)? */
bool xd_mcast_addr(const struct xenib_ah_attr *ah);
/* fn(qp, arg) for every QP attached to the group ah names; fn must not
 * attach or detach. */
void xd_mcast_for_each(const struct xenib_ah_attr *ah,
		       void (*fn)(struct xd_qp *qp, void *arg), void *arg);

/* qp_state.c: IB QP state machine (ibv_modify_qp(3)) */
int xd_qp_check_transition(uint32_t qp_type, uint32_t cur, uint32_t next,
			   uint32_t mask);

#endif /* XENIBD_DEV_H */
