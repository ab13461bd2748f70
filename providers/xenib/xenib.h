/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenib guest provider: private structures shared by the provider's files.
 *
 * Every object the application sees (ibv_pd, ibv_mr, ibv_cq, ibv_qp) is the
 * first member of the provider's own structure, so the conversion helpers
 * below are plain casts through container_of.
 */
#ifndef XENIB_PROVIDER_H
#define XENIB_PROVIDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>

#include "libibverbs/driver.h"
#include "util/hv_guest.h"
#include "util/list.h"
#include "util/xenib_ring.h"

#define XENIB_PORT_NUM	1	/* ABI 1 exposes one port */

/* ------------------------------------------------------------------ */
/* Logging                                                             */

extern int xenib_debug_enabled;
/* Empty polls of one CQ after which poll_cq yields the CPU (0: never). */
extern unsigned int xenib_poll_yield;

#define xenib_err(fmt, ...) \
	fprintf(stderr, "xenib: " fmt "\n", ##__VA_ARGS__)

#define xenib_dbg(fmt, ...)						\
	do {								\
		if (xenib_debug_enabled)				\
			fprintf(stderr, "xenib[%d]: " fmt "\n",		\
				(int)getpid(), ##__VA_ARGS__);		\
	} while (0)

/* ------------------------------------------------------------------ */
/* Objects                                                             */

/* A shared ring as the guest sees it. */
struct xenib_ring {
	struct xenib_ring_hdr *hdr;	/* page-aligned header in the region */
	uint32_t entries;		/* power of two */
	uint32_t stride;		/* bytes per entry */
	uint64_t offset;		/* of hdr inside the region */
};

/*
 * Application memory shared with the backend as one region (mr_area.c):
 * re-backed with shareable pages, or an object it was shared from already.
 */
struct xenib_mr_area {
	struct list_node link;		/* ctx->areas, sorted by start */
	uintptr_t start, end;		/* page aligned, [start, end) */
	uint32_t region;		/* MAP_REGION handle */
	unsigned int refcnt;		/* MRs using (part of) the area */
	struct hv_shm shm;		/* fd backing the pages */
	/* What /proc/self/maps shows at start while the area backs it. */
	uint64_t dev, ino, off;
	uint64_t last_use;		/* idle (refcnt 0) since, for eviction */
	bool stale;			/* memory no longer the region's */
};

struct xenib_context {
	struct verbs_context ibv_ctx;

	/* Control channel: one request in flight, serialised by ctrl_lock. */
	pthread_mutex_t ctrl_lock;
	int sock;
	uint32_t seq;
	bool ctrl_dead;			/* backend went away: fail fast */
	bool backend_gone;		/* fatal.c: xenibd died (atomic) */
	bool fatal_delivered;		/* DEVICE_FATAL returned (async_lock) */
	char devname[IBV_SYSFS_NAME_MAX];

	/* From HELLO. */
	uint32_t guest_id;
	struct xenib_device_info dev_info;

	/* Context page: sleep flag and async-event ring. */
	struct hv_shm ctx_shm;
	struct xenib_ctx_page *page;
	uint32_t ctx_region;

	/* The hypervisor, chosen once for the context (util/hv_guest.h). */
	const struct hv_ops *hv;
	struct hv_conn *hvc;		/* our connection through it */
	uint32_t doorbell_handle;	/* kicked with hv->kick(hvc) */
	int async_fd;			/* our end, == context.async_fd */
	int async_self;			/* the backend's end, to re-signal ours */
	uint32_t async_handle;
	pthread_mutex_t async_lock;	/* consumer side of the async ring */

	/* Object maps for async events and completion channels. */
	pthread_mutex_t obj_lock;
	struct list_node cqs;		/* struct xenib_cq.ctx_link */
	struct list_node qps;		/* struct xenib_qp.ctx_link */
	struct list_node srqs;		/* struct xenib_srq.ctx_link */
	struct list_node channels;	/* struct xenib_channel.link */

	/* Adopted application memory (mr.c), protected by mr_lock. */
	pthread_mutex_t mr_lock;
	struct list_node areas;
};

/*
 * A protection domain, or a parent domain (parent.c) over one: then
 * ibv_pd.handle is its protection domain's backend handle, so every verb
 * that takes a PD works on either, and alloc/free (if set) allocate the
 * queue memory of the QPs, CQs and SRQs made with it.
 */
struct xenib_pd {
	struct ibv_pd ibv_pd;		/* ibv_pd.handle = backend PD handle */
	struct xenib_pd *base;		/* parent domain: its PD, else NULL */
	unsigned int parents;		/* parent domains over this PD */
	void *(*alloc)(struct ibv_pd *pd, void *pd_context, size_t size,
		       size_t alignment, uint64_t resource_type);
	void (*free)(struct ibv_pd *pd, void *pd_context, void *ptr,
		     uint64_t resource_type);
	void *pd_context;
};

/*
 * Queue memory (rings): from the hypervisor's shm_alloc, or from a parent
 * domain's allocator and then adopted (shared in place).  parent.c.
 */
struct xenib_qmem {
	struct ibv_pd *pd;		/* the object's PD or parent domain */
	/* ptr != NULL: from pd's alloc(), given back to its free() */
	void (*free)(struct ibv_pd *pd, void *pd_context, void *ptr,
		     uint64_t resource_type);
	void *pd_context;
	void *ptr;
	uint64_t resource_type;
};

/* resource_type values a parent domain's allocator sees (xenib(7)). */
#define XENIB_RES_TYPE(n)	((0x78656e69ull << 32) | (n))	/* "xeni" */
#define XENIB_RES_CQ		XENIB_RES_TYPE(1)
#define XENIB_RES_QP		XENIB_RES_TYPE(2)
#define XENIB_RES_SRQ		XENIB_RES_TYPE(3)

struct xenib_mr {
	struct ibv_mr ibv_mr;
	unsigned int nareas;
	struct xenib_mr_area **areas;	/* one reference held on each */
};

/* A completion channel as the provider tracks it. */
struct xenib_channel {
	struct list_node link;		/* ctx->channels */
	struct ibv_comp_channel *chan;	/* owned by libibverbs */
	uint32_t notify;		/* BIND_NOTIFY handle (kind COMP) */
	int self_fd;			/* the backend's end, to re-signal chan->fd */
	pthread_mutex_t lock;		/* protects cqs and events_consumed */
	struct list_node cqs;		/* struct xenib_cq.chan_link */
};

struct xenib_cq {
	union {				/* ibv_cq_ex starts like ibv_cq */
		struct ibv_cq ibv_cq;	/* ibv_cq.handle = backend CQ handle */
		struct ibv_cq_ex cqx;	/* create_cq_ex only (cq_ex.c) */
	};
	const struct xenib_cqe *cur;	/* cq_ex.c: entry being read */
	bool cur_valid;			/* cq_ex.c: between start/next/end */
	uint32_t arm_mode;		/* last XENIB_CQ_ARM_* requested */
	pthread_spinlock_t lock;	/* consumer side of the ring */
	uint32_t cons;			/* private consumer index */
	bool overrun_logged;
	uint32_t empty_polls;		/* consecutive polls that found nothing */
	uint32_t idle_polls;		/* empty polls, for fatal.c's check */
	struct xenib_ring ring;
	struct hv_shm shm;
	struct xenib_qmem qmem;		/* where shm came from */
	uint32_t region;
	struct xenib_channel *channel;	/* NULL without a channel */
	uint32_t events_consumed;	/* under channel->lock */
	struct list_node chan_link;
	struct list_node ctx_link;
};

struct xenib_wq {			/* one direction of a QP */
	pthread_spinlock_t lock;	/* producer side of the ring */
	uint32_t prod;			/* private producer index */
	uint32_t cons;			/* consumer index as last read */
	struct xenib_ring ring;
	uint32_t max_sge;
	uint32_t max_inline;		/* SQ only */
};

struct xenib_qp {
	union {				/* ibv_qp_ex starts with an ibv_qp */
		struct ibv_qp ibv_qp;	/* qp_num = backend's virtual QPN */
		struct ibv_qp_ex qpx;	/* create_qp_ex only (qp_ex.c) */
	};
	/* qp_ex.c: the ibv_wr_* batch between wr_start and wr_complete. */
	bool is_qpx;			/* created with SEND_OPS_FLAGS */
	uint64_t send_ops;		/* IBV_QP_EX_WITH_* allowed */
	uint32_t wr_prod;		/* staged producer index */
	int wr_err;			/* first error of the batch */
	struct xenib_send_wqe *wr_cur;	/* WQE being built, or NULL */
	struct xenib_wq sq;
	struct xenib_wq rq;
	struct hv_shm shm;		/* SQ ring, then RQ ring */
	struct xenib_qmem qmem;		/* where shm came from */
	uint32_t region;
	struct ibv_qp_cap cap;		/* actual capabilities */
	int sq_sig_all;
	struct list_node ctx_link;
};

/* An XRC domain (srq.c). */
struct xenib_xrcd {
	struct ibv_xrcd ibv_xrcd;
	uint32_t handle;		/* the backend's XRCD handle */
};

static inline struct xenib_xrcd *to_xxrcd(struct ibv_xrcd *xrcd)
{
	return container_of(xrcd, struct xenib_xrcd, ibv_xrcd);
}

/*
 * A shared receive queue: one ring in its own region (srq.c).  The
 * backend handle is also the SRQ number XRC senders name.
 */
struct xenib_srq {
	struct ibv_srq ibv_srq;		/* ibv_srq.handle = backend SRQ handle */
	struct xenib_wq wq;		/* guest produces receive WQEs */
	struct hv_shm shm;
	struct xenib_qmem qmem;		/* where shm came from */
	uint32_t region;
	struct list_node ctx_link;
};

/* An address handle: ibv_ah.handle is the backend's AH handle. */
struct xenib_ah {
	struct ibv_ah ibv_ah;
};

static inline struct xenib_srq *to_xsrq(struct ibv_srq *srq)
{
	return container_of(srq, struct xenib_srq, ibv_srq);
}

static inline struct xenib_context *to_xctx(struct ibv_context *ctx)
{
	return container_of(ctx, struct xenib_context, ibv_ctx.context);
}

static inline struct xenib_pd *to_xpd(struct ibv_pd *pd)
{
	return container_of(pd, struct xenib_pd, ibv_pd);
}

static inline struct xenib_mr *to_xmr(struct ibv_mr *mr)
{
	return container_of(mr, struct xenib_mr, ibv_mr);
}

static inline struct xenib_cq *to_xcq(struct ibv_cq *cq)
{
	return container_of(cq, struct xenib_cq, ibv_cq);
}

static inline struct xenib_qp *to_xqp(struct ibv_qp *qp)
{
	return container_of(qp, struct xenib_qp, ibv_qp);
}

/*
 * After publishing a producer index: Dekker-style kick (xenib_ring.h),
 * at most one per backend sleep.  recv: the header of the receive ring
 * just posted to (RQ, SRQ), NULL for a send queue.  Shared by post.c and
 * qp_ex.c.
 */
static inline void xenib_ring_doorbell(struct xenib_context *ctx,
				       const struct xenib_ring_hdr *recv)
{
	struct timespec ts;

	if (!xr_guest_claim_kick(ctx->page, recv))
		return;
	/* kick_ns: read by the backend for its wake-up latency figures. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	xr_store64_relaxed(&ctx->page->kick_ns,
			   (uint64_t)ts.tv_sec * 1000000000ull +
			   (uint64_t)ts.tv_nsec);
	ctx->hv->kick(ctx->hvc);
}

/* ------------------------------------------------------------------ */
/* ctrl.c: control channel                                             */

/*
 * Send req (req_len bytes, header filled here with opcode/seq/length) with
 * an optional fd and wait for the response, which must echo opcode and seq
 * and be exactly resp_len bytes (or a bare header carrying an error).
 * resp may be a bare struct xenib_ctrl_hdr.  Returns 0 or a positive errno.
 */
/*
 * fatal.c: xenibd going away (its control channel hangs up) is a fatal
 * device error: control calls fail with EIO, ibv_get_async_event() returns
 * IBV_EVENT_DEVICE_FATAL once, blocked waits return EIO, ibv_poll_cq()
 * notices within a few thousand empty polls and fails with EIO.
 */
bool xenib_backend_gone(struct xenib_context *ctx);
void xenib_backend_lost(struct xenib_context *ctx);
/* hv_notify_wait() on one of our notifier fds, EIO once xenibd is gone. */
int xenib_notify_wait(struct xenib_context *ctx, int fd);
#define XENIB_GONE_CHECK_POLLS 4096u

int xenib_cmd(struct xenib_context *ctx, uint16_t opcode, void *req,
	      size_t req_len, int pass_fd, void *resp, size_t resp_len);

/* Same on a bare socket (discovery, before a context exists). */
int xenib_exchange(int sock, uint32_t seq, uint16_t opcode, void *req,
		   size_t req_len, int pass_fd, void *resp, size_t resp_len);
/* Its halves: a request's header, and the response to (opcode, seq). */
void xenib_fill_hdr(void *req, size_t req_len, uint16_t opcode, uint32_t seq);
int xenib_recv_resp(int sock, uint32_t seq, uint16_t opcode, void *resp,
		    size_t resp_len);

/* resume.c: the hypervisor's quiesce hook (hv_ops.set_quiesce). */
void xenib_quiesce(void *arg, bool on);

/* HELLO on a freshly connected socket. */
int xenib_hello(int sock, struct xenib_hello_resp *resp);

/* Requests that name one handle and return a bare header. */
int xenib_cmd_handle(struct xenib_context *ctx, uint16_t opcode,
		     uint32_t handle);

/* MAP_REGION of the first npages of shm; returns the region handle. */
int xenib_map_region(struct xenib_context *ctx, struct hv_shm *shm,
		     uint32_t npages, uint32_t flags, uint32_t *region);


/* ------------------------------------------------------------------ */
/* Verbs, one file per concern                                         */

/* query.c */
int xenib_query_device_ex(struct ibv_context *ctx,
			  const struct ibv_query_device_ex_input *input,
			  struct ibv_device_attr_ex *attr, size_t attr_size);
int xenib_query_port(struct ibv_context *ctx, uint8_t port_num,
		     struct ibv_port_attr *attr);
int xenib_query_gid_ex(struct ibv_context *ctx, uint32_t port_num,
		       uint32_t gid_index, struct ibv_gid_entry *entry);
int xenib_query_pkey(struct ibv_context *ctx, uint8_t port_num, int index,
		     __be16 *pkey);
int xenib_query_table_sizes(struct ibv_context *ctx, uint8_t port_num,
			    int *gid_tbl_len, int *pkey_tbl_len);

/* pd.c */
struct ibv_pd *xenib_alloc_pd(struct ibv_context *ctx);
int xenib_dealloc_pd(struct ibv_pd *pd);

/* parent.c: parent domains and the queue memory they allocate */
struct ibv_pd *xenib_alloc_parent_domain(struct ibv_context *ctx,
				struct ibv_parent_domain_init_attr *attr);
/* pd is a parent domain of this provider (an ibv_pd of ctx). */
bool xenib_is_parent_domain(struct ibv_context *ctx, struct ibv_pd *pd);
/* bytes of ring memory for an object of pd (any PD, or NULL). 0/errno */
int xenib_qmem_alloc(struct xenib_context *ctx, struct ibv_pd *pd,
		     struct hv_shm *shm, size_t bytes, const char *name,
		     uint64_t resource_type, struct xenib_qmem *qm);
void xenib_qmem_free(struct xenib_context *ctx, struct hv_shm *shm,
		     struct xenib_qmem *qm);

/* mr.c */
struct ibv_mr *xenib_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			    uint64_t hca_va, unsigned int access);
int xenib_dereg_mr(struct ibv_mr *mr);
/* mr_rereg.c */
int xenib_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
		   void *addr, size_t length, unsigned int access);
void xenib_mr_cleanup(struct xenib_context *ctx);

/* mw.c: memory windows */
struct ibv_mw *xenib_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type);
int xenib_dealloc_mw(struct ibv_mw *mw);
int xenib_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw,
		  struct ibv_mw_bind *mw_bind);

/* cq.c */
struct ibv_cq *xenib_create_cq(struct ibv_context *ctx, int cqe,
			       struct ibv_comp_channel *channel,
			       int comp_vector);
/* The same, its ring from parent domain pd's allocator (or NULL). */
struct ibv_cq *xenib_create_cq_pd(struct ibv_context *ctx, int cqe,
				  struct ibv_comp_channel *channel,
				  int comp_vector, struct ibv_pd *pd);
int xenib_destroy_cq(struct ibv_cq *cq);
int xenib_poll_cq(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc);
int xenib_req_notify_cq(struct ibv_cq *cq, int solicited_only);
struct xenib_cq *xenib_find_cq(struct xenib_context *ctx, uint32_t handle);
void xenib_cq_clean(struct xenib_cq *cq, uint32_t qpn);

/* channel.c */
int xenib_create_comp_channel(struct ibv_context *ctx,
			      struct ibv_comp_channel *channel);
int xenib_destroy_comp_channel(struct ibv_comp_channel *channel);
int xenib_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **cq);
struct xenib_channel *xenib_find_channel(struct xenib_context *ctx,
					 struct ibv_comp_channel *channel);
void xenib_channel_cleanup(struct xenib_context *ctx);

/* qp.c */
struct ibv_qp *xenib_create_xrc_recv_qp(struct ibv_context *ctx,
					struct ibv_qp_init_attr_ex *attr);
struct ibv_qp *xenib_create_qp(struct ibv_pd *pd,
			       struct ibv_qp_init_attr *attr);
int xenib_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
		    int attr_mask);
int xenib_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int attr_mask,
		   struct ibv_qp_init_attr *init_attr);
int xenib_destroy_qp(struct ibv_qp *qp);
struct xenib_qp *xenib_find_qp(struct xenib_context *ctx, uint32_t qpn);

/* qp_ex.c: ibv_create_qp_ex and the ibv_wr_* API */
struct ibv_qp *xenib_create_qp_ex(struct ibv_context *ctx,
				  struct ibv_qp_init_attr_ex *attr);
struct ibv_qp_ex *xenib_qp_to_qp_ex(struct ibv_qp *qp);

/* cq_ex.c: ibv_create_cq_ex and the ibv_start_poll family */
struct ibv_cq_ex *xenib_create_cq_ex(struct ibv_context *ctx,
				     struct ibv_cq_init_attr_ex *attr);
int xenib_resize_cq(struct ibv_cq *cq, int cqe);

/* post.c */
int xenib_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		    struct ibv_send_wr **bad_wr);
int xenib_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr,
		    struct ibv_recv_wr **bad_wr);
int xenib_wq_post_recv(struct ibv_context *ctx, struct xenib_wq *rq,
		       struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr);

/* srq.c: shared receive queues (basic and XRC); XRC domains */
struct ibv_srq *xenib_create_srq(struct ibv_pd *pd,
				 struct ibv_srq_init_attr *attr);
int xenib_modify_srq(struct ibv_srq *srq, struct ibv_srq_attr *attr,
		     int attr_mask);
int xenib_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *attr);
int xenib_destroy_srq(struct ibv_srq *srq);
int xenib_post_srq_recv(struct ibv_srq *srq, struct ibv_recv_wr *wr,
			struct ibv_recv_wr **bad_wr);
struct xenib_srq *xenib_find_srq(struct xenib_context *ctx, uint32_t handle);
struct ibv_xrcd *xenib_open_xrcd(struct ibv_context *ctx,
				 struct ibv_xrcd_init_attr *attr);
int xenib_close_xrcd(struct ibv_xrcd *xrcd);
int xenib_get_srq_num(struct ibv_srq *srq, uint32_t *srq_num);
struct ibv_srq *xenib_create_srq_ex(struct ibv_context *ctx,
				    struct ibv_srq_init_attr_ex *attr);

/* ah.c: address handles (UD) */
struct ibv_ah *xenib_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr);
int xenib_destroy_ah(struct ibv_ah *ah);
int xenib_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid);
int xenib_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid);

/* import.c: sharing a context (ibv_import_device and the objects) */
struct verbs_context *xenib_import_context(struct verbs_device *vdev,
					   int cmd_fd);
struct ibv_pd *xenib_import_pd(struct ibv_context *ctx, uint32_t pd_handle);
void xenib_unimport_pd(struct ibv_pd *pd);
struct ibv_mr *xenib_import_mr(struct ibv_pd *pd, uint32_t mr_handle);
void xenib_unimport_mr(struct ibv_mr *mr);
/* xenib_main.c: a context on vdev, by connecting or (cmd_fd >= 0) ATTACH */
struct verbs_context *xenib_context_new(struct verbs_device *vdev,
					int cmd_fd);

/* async.c */
int xenib_get_async_event(struct ibv_context *ctx,
			  struct ibv_async_event *event);

/* ctrl.c: a notifier pair bound to the backend */
int xenib_notify_create(struct xenib_context *ctx, uint32_t kind,
			int *guest_fd, int *self_fd, uint32_t *handle);

#endif /* XENIB_PROVIDER_H */
