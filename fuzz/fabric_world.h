/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The world of fuzz/fuzz_fabric.c: this backend on a fabric (xenibd's
 * real fabric code over the fake wire and directory of tests/common), two
 * local guests and two fake remote hosts.  Guest A's QP is connected to
 * a QP at remote LID FF_RLID_A, served by host X; guest B's to one at
 * FF_RLID_B on host Y.  The QPs are of one type per input (RC, UC, UD,
 * XRC, or RC on an SRQ) with the provider's real ring layout, rings and
 * buffers in sealed memfds as a guest shares them.
 */
#ifndef XENIB_FUZZ_FABRIC_WORLD_H
#define XENIB_FUZZ_FABRIC_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/fuzz_guest.h"
#include "xenibd/engine/peer.h"

#define FF_CQ_ENTRIES	64
/* Room for a message of three requests (first, middle, last). */
#define FF_BUF		(2 * XD_SLICE_BYTES + 65536)
#define FF_QKEY		0x11111111u

#define FF_RLID_A	0x40		/* remote LIDs, served by X and Y */
#define FF_RLID_B	0x41
#define FF_RLID_NONE	0x42		/* located nowhere */
#define FF_RLID_GONE	0x43		/* on a host not in the directory */

enum ff_type {
	FF_RC = FZG_RC, FF_UC = FZG_UC, FF_UD = FZG_UD, FF_XRC = FZG_XRC,
	FF_RC_SRQ = FZG_RC_SRQ, FF_TYPES = FZG_TYPES
};

/* A fake remote host. */
struct ff_host {
	const char *id, *ip, *addr;
	uint32_t hid;		/* its wire host id (xf_hid) */
	uint64_t epoch;		/* what the directory says now */
};

struct ff_side {
	struct fz_guest g;	/* g.ah: UD, the remote QP's AH by LID */
	bool gone;		/* its context was destroyed */
	bool xrecv_gone;
	/* UD: AHs of the remote QP by GID only, of the other local guest's */
	uint32_t ah_gid, ah_local;
	uint32_t sq_prod, rq_prod;	/* the guest's producer indices */
	bool frozen;
	uint16_t lid;
	/* The other end, on a fake host. */
	unsigned int host;	/* index in ff_hosts */
	uint16_t rlid;
	uint32_t rqpn;		/* the QP ours sends to (XRC: its XRC_RECV) */
	uint32_t rsend;		/* the QP that sends to ours (XRC: XRC_SEND) */
	uint32_t rsrqn;		/* XRC: the remote SRQ ours names */
	uint32_t rq_psn, sq_psn;
	uint32_t rseq;		/* the remote requester's next request */
};

struct ff_world {
	enum ff_type type;
	uint8_t rnr_retry, timeout, retry_cnt;
	struct ff_side s[2];
};

extern struct ff_host ff_hosts[2];
extern struct ff_world ffw;

/* Once per process: the backend joins its (fake) fabric. */
void ff_init(void);
/* Every input: the directory as at start, both sides set up, connected. */
void ff_world_start(enum ff_type type, uint32_t psn, uint8_t knobs);
/* Tear a side down: its context and everything in it. */
void ff_side_fini(struct ff_side *s);
/*
 * Freeze s's context as Xen's suspend does (the engine leaves it alone,
 * peers' requests are held), its memory out of the backend's reach as
 * there (the mappings' placeholders: any access faults); or thaw it.
 */
void ff_freeze(struct ff_side *s, bool frozen);

/* The QP of s (XRC: its XRC_SEND), in the backend, or NULL. */
struct xd_qp *ff_qp(struct ff_side *s);
/* s's QPs to RESET; to INIT; from INIT to RTR and RTS, towards the remote. */
void ff_qp_reset(struct ff_side *s);
void ff_qp_init(struct ff_side *s);
void ff_qp_rtr_rts(struct ff_side *s);
/* The IBV_QPT_* the remote's requester has, towards s. */
uint32_t ff_remote_type(void);

#endif /* XENIB_FUZZ_FABRIC_WORLD_H */
