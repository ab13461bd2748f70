/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the fabric's files share (fabric.h lists them). */
#ifndef XENIBD_FABRIC_FINT_H
#define XENIBD_FABRIC_FINT_H

#include "xenibd/dev/dev.h"
#include "xenibd/daemon/loop.h"
#include "xenibd/engine/eng.h"
#include "xenibd/fabric/directory.h"
#include "xenibd/fabric/fabric.h"
#include "xenibd/fabric/proto.h"
#include "xenibd/fabric/wire.h"
#include "xenibd/migrate/migrate.h"

/* Bytes of requests' payloads held by the fabric at once, all QPs. */
#define XF_BOUNCE_MAX	(512ull << 20)
/*
 * Request payload bytes in the wire's queue to one host at once.  A
 * requester's transport timer runs from when it handed a request over, so
 * the queue ahead of a request (and of the answers that follow the other
 * host's requests back) must drain well within the shortest timeout a QP
 * may use (timeout 14: 67 ms) even on a slow, loaded host: 4 MiB drains in
 * 27 ms at 150 MB/s.  Past it a request waits (BUSY, no retry spent).
 */
#define XF_HOST_TX_BYTES	(4ull << 20)

/* Another host of the cluster, as the directory names it. */
struct xf_host {
	char id[XDIR_HOST_ID_MAX + 1];
	uint32_t hid;		/* its wire host id: FNV-1a of id */
	char addr[XDIR_ADDR_MAX + 1];
	uint64_t epoch;
	struct xw_peer *peer;	/* the wire's peer, NULL: none now */
	uint64_t unreachable_ns;	/* since when no peer is up (0: up) */
	bool in_dir;		/* in the directory's hosts/ */
	bool conn_failed;	/* a connection to this epoch went down */
	uint64_t tx_queued;	/* request payload bytes in the wire's queue */
	uint64_t reqs_out, reqs_in, answers_out, answers_in, drops;
	struct list_node link;
};

struct xf_state {
	struct xdir *dir;
	struct xw_ctx *wire;
	uint32_t self_hid;
	struct list_node hosts;
	struct xd_watch dir_w, wire_w;
	uint64_t bounce_bytes;	/* payload held now (XF_BOUNCE_MAX) */
	uint64_t wire_errors;	/* malformed messages from other hosts */
	uint64_t msgs;		/* messages received */
};

extern struct xf_state xf;

/* fabric.c */
uint32_t xf_hid(const char *host_id);
struct xf_host *xf_host_by_hid(uint32_t hid);
/*
 * May h speak for LID lid: does the directory not name another host for
 * it?  A host speaks only for its own guests: another host's backend may
 * be compromised, and would otherwise inject requests into, or answer
 * for, any connection.  A LID not located yet passes (a new guest may send
 * before the directory's watch brings its location here).
 */
bool xf_host_serves(const struct xf_host *h, uint16_t lid);
/*
 * The host's wire peer, connecting if need be; NULL while not up (then
 * h->unreachable_ns says since when).
 */
struct xw_peer *xf_host_peer(struct xf_host *h);
/* Payload bytes the fabric may take on now (false: over XF_BOUNCE_MAX). */
bool xf_bounce_get(uint64_t n);
void xf_bounce_put(uint64_t n);
void xf_log_rl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fident.c: identity allocator and locations on the directory. */
extern const struct xd_identity_ops xf_identity;
/* The directory's uuid of the guest called name (the same on every host). */
void xf_uuid_of(const char *name, char out[XDIR_UUID_LEN + 1]);

/* mig_src.c, mig_dst.c: migration's handover (docs/migration.md). */
void xf_mig_recv(struct xf_host *h, const void *hdr, size_t hdr_len,
		 struct xw_rx *rx);
void xf_mig_src_answer(struct xf_host *h, const struct xf_mig_answer *a);
void xf_mig_src_resumed(struct xf_host *h, const struct xf_mig_answer *a);
/* A context adopted here runs (migrate's xm_resumed_hook). */
void xf_mig_dst_resumed(struct xd_ctx *ctx);
void xf_mig_dst_offer(struct xf_host *h, const struct xf_mig_offer *o,
		      struct xw_rx *rx);
void xf_mig_dst_query(struct xf_host *h, const struct xf_mig_answer *q);
void xf_mig_tick(uint64_t *next_ns);
/* Send a MIG_ANSWER / MIG_QUERY to h. 0 or errno. */
int xf_mig_send_answer(struct xf_host *h, uint8_t kind, uint16_t lid,
		       uint32_t xid, int status, const char *addr);
struct xf_host *xf_host_by_name(const char *id);

/* fpeer.c: towards other hosts. */
extern const struct xd_peer_ops xf_router;
void xf_answer_recv(struct xf_host *h, const struct xf_answer *a,
		    size_t hdr_len, struct xw_rx *rx);
/* Give request seq of qp its answer (read: with its READ data). */
void xf_answer_apply(struct xd_qp *qp, uint32_t seq,
		     const struct xd_answer *ans, const char *data,
		     uint32_t len, bool read);

/* fhold.c: answers that wait (behind a landing READ, for a thaw). */
struct xf_held;
/* Must an answer for qp wait now?  If not, what waited is given first. */
bool xf_hold_wanted(struct xd_qp *qp);
/* Keep it, in order. */
void xf_hold(struct xd_qp *qp, uint32_t seq, const struct xd_answer *ans,
	     const char *data, uint32_t len, bool read);
/* A READ response of len bytes for request seq is landing into
 * xf_held_data(): later answers wait behind it; NULL: dropped. */
struct xf_held *xf_hold_landing(struct xd_qp *qp, uint32_t seq,
				uint32_t len);
void *xf_held_data(struct xf_held *h);
/* It has landed (ok) or is lost (with the answers behind it). */
void xf_hold_landed(struct xf_held *h, bool ok);
/* Give what waits for thawed guests (the loop's poll). */
void xf_hold_run(void);
/* qp is destroyed or reset: what waits for it goes. */
void xf_hold_drop(struct xd_qp *qp);
/* Answers held (also landing ones whose QP went). */
unsigned int xf_held(void);

/* target.c: requests from other hosts. */
void xf_target_recv(struct xf_host *h, const struct xf_req *r,
		    size_t hdr_len, struct xw_rx *rx);
/* Send an answer for req to the host it came from (no payload). */
void xf_send_answer(uint32_t hid, const struct xf_req *r, uint8_t ack,
		    uint8_t rnr_timer, uint32_t expected, uint64_t orig);
void xf_target_qp_gone(struct xd_qp *qp);

/* fcm.c: the connection manager's messages to and from other hosts. */
extern const struct xd_cm_remote_ops xf_cm_remote;
void xf_cm_recv(struct xf_host *h, const void *hdr, size_t hdr_len,
		struct xw_rx *rx);
/* Send what waited for a host's wire; drop what waited too long (and
 * lower *next_ns, if given, to when the next one will have). */
void xf_cm_flush(uint64_t *next_ns);
/* Drop everything waiting (the fabric goes). */
void xf_cm_fini(void);

#endif /* XENIBD_FABRIC_FINT_H */
