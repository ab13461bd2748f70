// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Validation of what another host's backend sends (proto.h): decided on
 * the header alone, before anything is looked up or any payload taken.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>

#include "xenibd/engine/peer.h"
#include "xenibd/engine/wqe.h"
#include "xenibd/fabric/proto.h"

#define XF_FLAGS	(XF_FIRST | XF_LAST | XF_SOLICITED | XF_GRH)

int xf_kind(const void *hdr, size_t hdr_len)
{
	const struct xf_hdr *h = hdr;

	if (hdr_len < sizeof(*h) || h->magic != XF_MAGIC ||
	    h->version != XF_VERSION || h->len != hdr_len)
		return 0;
	return h->kind;
}

static bool lid_ok(uint16_t lid)
{
	return lid && lid <= XF_MAX_LID;
}

int xf_check_req(const void *hdr, size_t hdr_len, size_t payload)
{
	const struct xf_req *r = hdr;
	bool atomic, carries;

	if (xf_kind(hdr, hdr_len) != XF_REQ || hdr_len != sizeof(*r))
		return EPROTO;
	if (!lid_ok(r->src_lid) || !lid_ok(r->dst_lid) ||
	    r->src_qpn > XF_MAX_QPN || r->dst_qpn > XF_MAX_QPN ||
	    (r->flags & ~XF_FLAGS) || r->reserved)
		return EINVAL;
	if (!xd_wqe_op_allowed(r->qp_type, r->opcode))
		return EINVAL;
	atomic = r->opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
		 r->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD;
	carries = r->opcode != IBV_WR_RDMA_READ && !atomic;
	if (r->msg_len > XENIB_MAX_MSG_SZ || r->len > XD_SLICE_BYTES ||
	    r->offset % XD_SLICE_BYTES || r->offset > r->msg_len ||
	    r->len > r->msg_len - r->offset)
		return EINVAL;
	if (!(r->flags & XF_FIRST) != (r->offset != 0) ||
	    !(r->flags & XF_LAST) != (r->offset + r->len != r->msg_len))
		return EINVAL;
	/* A request carries all its bytes but the last one's: full slices. */
	if (!(r->flags & XF_LAST) && r->len != XD_SLICE_BYTES)
		return EINVAL;
	if (payload != (carries ? r->len : 0))
		return EINVAL;
	if (atomic && (r->msg_len != 8 || r->len != 8))
		return EINVAL;
	if (r->qp_type == IBV_QPT_UD &&
	    (r->msg_len > XENIB_UD_MAX_MSG || !(r->flags & XF_FIRST) ||
	     !(r->flags & XF_LAST) || r->flow_label > 0xfffff))
		return EINVAL;
	return 0;
}

int xf_check_answer(const void *hdr, size_t hdr_len, size_t payload)
{
	const struct xf_answer *a = hdr;
	int kind = xf_kind(hdr, hdr_len);

	if ((kind != XF_ANSWER && kind != XF_READ_RESP) ||
	    hdr_len != sizeof(*a))
		return EPROTO;
	if (!lid_ok(a->req_lid) || a->req_qpn > XF_MAX_QPN || a->reserved ||
	    a->reserved2 || a->reserved3 || a->rnr_timer > 31)
		return EINVAL;
	if (kind == XF_READ_RESP)
		return a->ack == XD_ACK && a->len <= XD_SLICE_BYTES &&
		       payload == a->len ? 0 : EINVAL;
	if (payload || a->len)
		return EINVAL;
	switch (a->ack) {
	case XD_ACK:
	case XD_NAK_RNR:
	case XD_NAK_ACCESS:
	case XD_NAK_INV_REQ:
	case XD_NAK_OP:
	case XD_NO_ANSWER:
	case XD_PAUSED:
	case XD_BUSY:
	case XD_DROPPED:
	case XF_NAK_SEQ:
		return 0;
	}
	return EINVAL;
}

/* A NUL-terminated string filling at most its field. */
static bool str_ok(const char *s, size_t max)
{
	return memchr(s, 0, max) != NULL;
}

int xf_check_mig_offer(const void *hdr, size_t hdr_len, size_t payload)
{
	const struct xf_mig_offer *o = hdr;

	if (xf_kind(hdr, hdr_len) != XF_MIG_OFFER || hdr_len != sizeof(*o))
		return EPROTO;
	if (!lid_ok(o->lid) || o->reserved || o->reserved2 ||
	    !str_ok(o->transport, sizeof(o->transport)) ||
	    !str_ok(o->name, sizeof(o->name)) || !o->name[0] ||
	    !o->snap_len || o->snap_len > XF_MIG_MAX_SNAP ||
	    payload != o->snap_len || o->loc_rev <= 0)
		return EINVAL;
	return 0;
}

int xf_check_mig_answer(const void *hdr, size_t hdr_len, size_t payload)
{
	const struct xf_mig_answer *a = hdr;
	int kind = xf_kind(hdr, hdr_len);

	if ((kind != XF_MIG_ANSWER && kind != XF_MIG_QUERY &&
	     kind != XF_MIG_RESUMED) || hdr_len != sizeof(*a))
		return EPROTO;
	if (!lid_ok(a->lid) || a->reserved || a->reserved2 || payload ||
	    !str_ok(a->addr, sizeof(a->addr)) || a->status > 4095)
		return EINVAL;
	if (kind != XF_MIG_ANSWER && (a->status || a->addr[0]))
		return EINVAL;
	return 0;
}

int xf_check_cm(const void *hdr, size_t hdr_len, size_t payload)
{
	const struct xf_cm *c = hdr;

	if (xf_kind(hdr, hdr_len) != XF_CM || hdr_len != sizeof(*c))
		return EPROTO;
	if (!lid_ok(c->slid) || !lid_ok(c->dlid) || c->reserved[0] ||
	    c->reserved[1] || c->reserved[2] || c->reserved2[0] ||
	    c->reserved2[1] ||
	    c->pdata_len > XF_CM_MAX_PDATA || payload != c->pdata_len)
		return EINVAL;
	return 0;
}
