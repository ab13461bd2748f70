/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd: the dom0 backend.  It owns every resource a guest uses, validates
 * every byte a guest sends, and gives guests only virtual handles.
 *
 * Threading: one thread.  The main loop (main.c) services control channels
 * and runs the WQE engine (engine.c); it polls while there is work and sleeps
 * in epoll after telling the guests to kick it.  Nothing here takes a lock.
 */
#ifndef XENIBD_H
#define XENIBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>

#include "xenibd/list.h"
#include "xenibd/handles.h"

struct xd_ctx;
struct xd_xen_ctx;
struct xd_xdom;

/* What a guest is charged for (xd.cfg.limits, quota.c). */
enum xd_quota {
	XD_Q_QPS, XD_Q_CQS, XD_Q_SRQS, XD_Q_PDS, XD_Q_MRS, XD_Q_REGIONS,
	XD_Q_NOTIFIERS, XD_Q_MR_BYTES, XD_Q_REGION_BYTES, XD_Q_XRCDS, XD_Q_MAX
};

/* A guest: one domain (Xen) or one emulated guest name. */
struct xd_guest {
	char name[64];
	uint32_t id;		/* index in the guest table, LID = id + 1 */
	uint16_t lid;		/* virtual LID */
	uint64_t guid;		/* virtual port/node GUID, host order */
	unsigned int nctx;	/* open contexts */
	uint64_t used[XD_Q_MAX];	/* over all its contexts */
};

/* Guest memory the backend has mapped (MAP_REGION). */
struct xd_region {
	struct xd_handle h;
	struct xd_ctx *ctx;
	int fd;			/* emulation: the sealed memfd */
	uint64_t fd_offset;
	/* Xen: the guest's grant refs of the region's pages (npages of them) */
	uint32_t *grefs;
	uint32_t domid;
	bool unmapped;		/* Xen: grants ended (frozen), VA kept reserved */
	void *va;		/* backend mapping */
	size_t len;
	unsigned int refs;	/* rings and MR segments using it */
	bool ctx_page;
};

struct xd_notify {
	struct xd_handle h;
	struct xd_ctx *ctx;
	int fd;			/* emulation: backend end of the notifier pair */
	uint32_t port;		/* Xen: local event-channel port, 0 = none */
	uint32_t kind;
	unsigned int refs;	/* CQs signalling through it */
};

struct xd_pd {
	struct xd_handle h;
	struct xd_ctx *ctx;
	unsigned int refs;	/* MRs and QPs */
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
};

struct xd_cq {
	struct xd_handle h;
	struct xd_ctx *ctx;
	struct xd_ring ring;	/* backend produces */
	struct xd_notify *notify;
	uint32_t events;	/* backend's copy of hdr->events */
	unsigned int refs;	/* QPs */
	bool overrun;
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
};

/* Address handle: a validated address vector for UD sends. */
struct xd_ah {
	struct xd_handle h;
	struct xd_ctx *ctx;
	struct xd_pd *pd;
	struct xenib_ah_attr attr;
};

enum xd_stall {
	XD_STALL_NONE,
	XD_STALL_RNR,		/* responder had no receive WQE */
	XD_STALL_RETRY,		/* responder not reachable / not ready */
	XD_STALL_FROZEN,	/* target's guest frozen: wait, no retry spent */
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
	 * its own and is not on xd.qps; while the engine executes a send to
	 * it, srq, recv_cq and pd name the target XRC SRQ's (engine.c), and
	 * are NULL otherwise.  XRC_SEND: recv_cq NULL, no RQ.
	 */
	struct xd_xrcd *xrcd;
	uint32_t qp_type;
	bool sq_sig_all;
	uint32_t max_send_sge, max_recv_sge, max_inline;
	struct xenib_qp_attr attr;	/* current attributes */
	/* head-of-SQ retry state (RNR / transport retry) */
	enum xd_stall stall;
	unsigned int stall_count;
	uint64_t stall_until_ns;
	uint64_t stall_deadline_ns;
	struct list_node active;	/* on xd.qps */
};

struct xd_ctx {
	int sock;		/* emulation: control socket; Xen: -1 */
	struct xd_xen_ctx *xen;	/* Xen: mailbox channel (xen.c), else NULL */
	pid_t pid;
	struct xd_guest *guest;
	bool hello;
	/*
	 * Xen: the guest is suspended (xen.c, RESUME): its grants are
	 * unmapped (PROT_NONE placeholders), so nothing may touch its rings,
	 * pages or MR views; the engine skips its QPs and holds peers' WQEs
	 * aimed at it.
	 */
	bool frozen;
	struct xd_region *ctx_page_region;
	struct xenib_ctx_page *page;	/* NULL until mapped */
	struct xd_notify *doorbell, *async;
	uint32_t async_prod;
	unsigned int nobj;		/* objects owned, for accounting */
	/* log.c: per-context log rate limit (a guest cannot flood the log) */
	uint64_t log_window_ns;
	unsigned int log_lines, log_dropped;
	struct list_node link;
};

struct xd_stats {
	long guests, contexts, pds, mrs, cqs, qps, regions, notifiers;
	long srqs, ahs, xrcds;
	long long mr_bytes;
	long long ctrl_errors, ctrl_msgs;
	long long wqes;
	long long doorbells;	/* guest kicks received (backend was asleep) */
	long long sleeps;	/* times the loop armed kicks and slept */
};

/* Per-guest limits (xenibd.conf "limit.*"); enforced by the control path. */
struct xd_limits {
	unsigned int qps, cqs, srqs, pds, mrs, regions, notifiers, xrcds;
	uint64_t mr_bytes;
	uint64_t region_bytes;	/* guest memory mapped by the backend */
};

enum xd_hv_mode {
	XD_HV_AUTO,		/* Xen if this is a Xen dom0, else emulated */
	XD_HV_EMULATED,
	XD_HV_XEN,
};

struct xd_config {
	enum xd_hv_mode hv_mode;	/* "hypervisor" */
	const char *domains;	/* "domains": names to attach, blank separated */
	unsigned int max_ctx;	/* Xen: contexts per guest ("limit.contexts") */
	unsigned int resume_timeout;	/* seconds a frozen guest is kept */
	const char *dir;
	const char *devname;
	bool verbose;
	unsigned int spin_us;
	bool spin_adaptive;	/* stop spinning while descheduled */
	unsigned int max_guests;
	struct xd_limits limits;
};

struct xd_state {
	struct xd_config cfg;
	int epfd;
	int listen_fd;
	int admin_fd;
	struct list_node ctxs;
	struct list_node qps;		/* every QP, for the engine */
	struct xd_table regions, notifies, pds, mrs, cqs, qpt;
	struct xd_table srqs, ahs, xrcds;
	struct xd_guest *guests;	/* cfg.max_guests entries */
	struct xd_stats stats;
	uint64_t now_ns;
	bool xen;			/* Xen hypervisor layer in use */
};

extern struct xd_state xd;

/* loop.c: tables and lists for xd.cfg (set cfg first). 0 or errno. */
int xd_state_init(void);

/* config.c */
void xd_config_defaults(struct xd_config *c);
/* Overlay a configuration file; 0, or errno (each bad line is logged). */
int xd_config_load(struct xd_config *c, const char *path);

/* log.c */
void xd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xd_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xd_ctx_log(struct xd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uint64_t xd_now_ns(void);

/*
 * quota.c: per-guest limits.  Check before creating (EDQUOT for a count,
 * ENOMEM for limit.mr_bytes and limit.region_bytes, with a log line), charge once created, and
 * uncharge when freed.  A context without a guest (before HELLO) is not
 * charged.
 */
int xd_quota_check(struct xd_ctx *ctx, enum xd_quota q, uint64_t n);
void xd_quota_charge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n);
void xd_quota_uncharge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n);

/* guest.c */
struct xd_guest *xd_guest_get(const char *name);
void xd_guest_put(struct xd_guest *g);
void xd_guest_port(const struct xd_guest *g, struct xenib_port_info *port);
void xd_guest_device(const struct xd_guest *g, struct xenib_device_info *dev);

/* ctrl.c: one control message in, one response out */
void xd_ctrl_handle(struct xd_ctx *ctx, void *msg, ssize_t len, int fd);

/* ctx.c */
void xd_ctx_accept(void);
void xd_ctx_readable(struct xd_ctx *ctx);
void xd_ctx_destroy(struct xd_ctx *ctx);
void xd_ctx_post_async(struct xd_ctx *ctx, uint32_t type, uint32_t handle);
/* Answer the request being handled (control socket or Xen mailbox). */
int xd_ctx_reply(struct xd_ctx *ctx, const void *resp, size_t len);

/* region.c */
int xd_region_map(struct xd_ctx *ctx, int fd, uint64_t offset, uint32_t npages,
		  uint32_t flags, uint32_t *handle);
/* Xen: ref names the directory page of the region's grant refs. */
int xd_region_map_grants(struct xd_ctx *ctx, uint64_t ref, uint64_t offset,
			 uint32_t npages, uint32_t flags, uint32_t *handle);
int xd_region_unmap(struct xd_ctx *ctx, uint32_t handle);
struct xd_region *xd_region_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_region_free(struct xd_region *r);
int xd_ring_attach(struct xd_ctx *ctx, struct xd_ring *ring,
		   const struct xenib_ring_desc *d, uint32_t min_stride);
void xd_ring_detach(struct xd_ring *ring);

/* notify.c */
int xd_notify_bind(struct xd_ctx *ctx, int fd, uint32_t kind, uint32_t *handle);
/* Xen: bind the guest's unbound event-channel port. */
int xd_notify_bind_port(struct xd_ctx *ctx, uint32_t port, uint32_t kind,
			uint32_t *handle);
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

/* cq.c */
int xd_cq_create(struct xd_ctx *ctx, const struct xenib_create_cq_req *req,
		 uint32_t *handle);
int xd_cq_destroy(struct xd_ctx *ctx, uint32_t handle);
/* cq_resize.c */
int xd_cq_resize(struct xd_ctx *ctx, const struct xenib_resize_cq_req *req);
struct xd_cq *xd_cq_lookup(struct xd_ctx *ctx, uint32_t handle);
void xd_cq_free(struct xd_cq *cq);
/* Write one CQE (and raise a completion event if armed); false on overrun. */
bool xd_cq_push(struct xd_cq *cq, const struct xenib_cqe *cqe, bool solicited);

/* qp.c */
int xd_qp_create(struct xd_ctx *ctx, const struct xenib_create_qp_req *req,
		 uint32_t *qpn);
int xd_qp_modify(struct xd_ctx *ctx, const struct xenib_modify_qp_req *req);
int xd_qp_query(struct xd_ctx *ctx, uint32_t qpn, struct xenib_qp_attr *attr);
int xd_qp_destroy(struct xd_ctx *ctx, uint32_t qpn);
void xd_qp_free(struct xd_qp *qp);
struct xd_qp *xd_qp_find(uint32_t qpn);
void xd_qp_to_error(struct xd_qp *qp, uint32_t async_event);

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

/* qp_state.c: IB QP state machine (ibv_modify_qp(3)) */
int xd_qp_check_transition(uint32_t qp_type, uint32_t cur, uint32_t next,
			   uint32_t mask);

/* engine.c */
/* Run every QP once; returns WQEs processed.  *next_ns: earliest timer. */
unsigned int xd_engine_poll(uint64_t *next_ns);
bool xd_engine_has_work(void);
void xd_engine_flush_qp(struct xd_qp *qp);

/* Hold back WQEs aimed at frozen guests this long between looks. */
#define XD_FROZEN_RETRY_NS	(10 * 1000 * 1000ull)

/* admin.c */
int xd_admin_listen(const char *dir);
void xd_admin_readable(int fd);

#endif /* XENIBD_H */
