/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A guest's state on this backend, as the destination of a migration
 * recreates it (docs/migration.md, step 2): its identity, its handle
 * tables' generations, and per context the objects in the order they
 * depend on each other, each as the request that makes it (checked at the
 * destination exactly as a guest's request is) plus the state it has now.
 * No guest memory travels: the hypervisor shares it with the destination.
 * Not carried: memory windows, and contexts in a share group (ATTACH,
 * IMPORT; zombies): the source refuses to migrate a guest that has any,
 * before freezing it (fabric/mig_src.c, movable()).  A re-registered MR
 * is carried as it is now (keys, PD, access, translation).
 *
 * Layout: struct xm_snap_hdr, XD_KIND_MAX table records (struct
 * xm_table_hdr + ngen generation bytes), then nctx contexts (struct
 * xm_ctx_hdr + nrec records: struct xm_rec + body).  Every part is padded
 * to 8 bytes.  Fixed-width fields in host byte order: both backends run
 * the same xenibd on the same architecture (the header says which).  The
 * receiver treats every byte as hostile (snap_load.c).
 */
#ifndef XENIBD_MIGRATE_SNAP_H
#define XENIBD_MIGRATE_SNAP_H

#include <stdbool.h>
#include <stdint.h>
#include <rdma/xenib-abi.h>

#include "xenibd/migrate/buf.h"

struct xd_guest;
struct xd_ctx;

#define XM_SNAP_MAGIC	0x504e5358u	/* "XSNP" */
#define XM_SNAP_VERSION	3	/* 2: regions carry their offset; 3: MW table */
#define XM_SNAP_ARCH	((uint32_t)sizeof(void *) | 0x1234000u)
#define XM_SNAP_MAX	(64u << 20)	/* bytes of one snapshot */
#define XM_MAX_CTX	256		/* contexts of one guest */
#define XM_MAX_RECORDS	(1u << 20)	/* objects of one context */

struct xm_snap_hdr {
	__u32 magic, version, arch;
	__u32 nctx;
	char name[64];
	__u16 lid;
	__u16 reserved[3];
	__u64 guid;
};

struct xm_table_hdr {
	__u32 kind;		/* enum xd_kind, in order */
	__u32 ngen;		/* generation bytes that follow */
	__u32 hint;
	__u32 reserved;
};

struct xm_ctx_hdr {
	__u32 nrec;
	__u32 async_prod;
	char token[XENIB_TOKEN_LEN];	/* its resume token at the destination */
};

enum xm_tag {
	XM_R_REGION = 1, XM_R_NOTIFY, XM_R_PD, XM_R_XRCD, XM_R_MR, XM_R_CQ,
	XM_R_SRQ, XM_R_AH, XM_R_QP, XM_R_MAX
};

struct xm_rec {
	__u16 tag;		/* enum xm_tag */
	__u16 reserved;
	__u32 len;		/* of the body */
};

/* Regions and notifiers come back from the guest (RESUME_*). */
struct xm_r_region {
	__u32 handle, npages, flags, reserved;
	__u64 offset;		/* MAP_REGION's, into the object named again */
};

struct xm_r_notify {
	__u32 handle, kind;
};

struct xm_r_pd {
	__u32 handle, reserved;
};

struct xm_r_xrcd {
	__u32 handle, reserved;
	struct xenib_open_xrcd_req req;
};

struct xm_r_mr {		/* req.nsegs struct xenib_mr_seg follow */
	__u32 handle, reserved;
	struct xenib_reg_mr_req req;
};

struct xm_r_cq {
	__u32 handle;
	__u32 idx;		/* our producer index */
	__u32 events;
	__u32 overrun;
	struct xenib_create_cq_req req;
};

struct xm_r_srq {
	__u32 handle;
	__u32 idx;		/* our consumer index */
	__u32 limit;
	__u32 reserved;
	struct xenib_create_srq_req req;
};

struct xm_r_ah {
	__u32 handle, reserved;
	struct xenib_create_ah_req req;
};

/* A QP's engine state (engine/eng.h) in fixed-width terms. */
struct xm_qp_eng {
	/* requester (struct xd_req_place) */
	__u32 seq0, acked, max_seq, stall, stall_count, drain_notify;
	__u64 stall_left_ns;
	/* responder (engine/rx_order.c), its receive in progress */
	__u32 rx_expected, next_atomic;
	struct {
		__u32 seq, valid;
		__u64 orig;
	} atomics[16];
	__u32 rx_active, rx_opcode;
	__u64 rx_len;
	__u32 rx_cq, rx_srq;	/* handles, XENIB_INVALID_HANDLE: none */
	struct xenib_recv_wqe rx_w;
	struct xenib_sge rx_sge[XENIB_MAX_SGE];
	__u64 rx_wlen;
	__u32 rx_status, reserved;
};

struct xm_r_qp {
	__u32 handle;
	__u32 sq_idx, rq_idx;	/* our consumer indices */
	__u32 reserved;
	struct xenib_create_qp_req req;
	struct xenib_qp_attr attr;
	struct xm_qp_eng eng;
};

/* snap_save.c: every context of g into b; 0 or errno. */
int xm_snap_save(const struct xd_guest *g, char tokens[][XENIB_TOKEN_LEN],
		 unsigned int ntok, struct xm_buf *b);

/* A parsed snapshot: views into its buffer (snap_load.c). */
struct xm_snap_ctx {
	const struct xm_ctx_hdr *hdr;
	const uint8_t *recs;	/* the records, framing checked */
	size_t len;
};

struct xm_snap {
	uint8_t *buf;		/* owned */
	size_t len;
	const struct xm_snap_hdr *hdr;
	const struct xm_table_hdr *tables[16];
	const uint8_t *gens[16];
	unsigned int nctx;
	struct xm_snap_ctx *ctx;
};

/*
 * Check the framing of a snapshot from another host (sizes, counts,
 * tags, every handle unique per kind) and take it over (buf is freed by
 * xm_snap_free): 0, or EBADMSG / EPROTONOSUPPORT / ENOMEM with *why.
 */
int xm_snap_parse(uint8_t *buf, size_t len, struct xm_snap **out,
		  const char **why);
void xm_snap_free(struct xm_snap *s);
/* Iterate the records of a context: false at the end. */
bool xm_snap_next(const struct xm_snap_ctx *c, size_t *off,
		  const struct xm_rec **rec, const void **body);

/*
 * build.c: recreate on ctx every object of c that is not a region or a
 * notifier (those came back with RESUME_*), with its handle and state.
 * 0 or errno (objects made so far stay on ctx: destroy it).
 */
int xm_build(struct xd_ctx *ctx, const struct xm_snap_ctx *c);
/* The guest's handle tables as the snapshot has them (tables empty). */
int xm_tables_restore(struct xd_guest *g, const struct xm_snap *s);

#endif /* XENIBD_MIGRATE_SNAP_H */
