// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The world of fuzz_fabric (fabric_world.h). */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz/fabric_world.h"
#include "tests/common/backend.h"
#include "tests/common/fake_dir.h"
#include "tests/common/fake_wire.h"
#include "xenibd/fabric/fint.h"

struct ff_host ff_hosts[2] = {
	{ .id = "ffz-x", .ip = "10.99.0.2", .addr = "10.99.0.2:7000" },
	{ .id = "ffz-y", .ip = "10.99.0.3", .addr = "10.99.0.3:7000" },
};
struct ff_world ffw;

void ff_init(void)
{
	static int done;
	const struct xd_identity_ops *local;
	unsigned int i;

	if (done)
		return;
	done = 1;
	fz_init();
	/* Buffers for messages of several requests. */
	xd.cfg.limits.mr_bytes = 4ull * FF_BUF;
	xd.cfg.limits.region_bytes = 8ull * FF_BUF;
	xd.cfg.fabric.etcd = "http://etcd.invalid:1";
	xd.cfg.fabric.host = "ffz-self";
	xd.cfg.fabric.listen = "10.99.0.1:7000";
	/* Guests keep the local identities: they are not the wire's. */
	local = xd_identity;
	if (xd_fabric_init())
		abort();
	xd_identity = local;
	fd_state(XDIR_UP);	/* the fabric starts its wire */
	if (!fw_ctx())
		abort();
	for (i = 0; i < 2; i++)
		ff_hosts[i].hid = xf_hid(ff_hosts[i].id);
}

/* UD: an address handle towards lid (0: by GID only, of rlid). */
static uint32_t create_ah(struct ff_side *s, uint16_t lid, bool global)
{
	struct xenib_create_ah_req r = { 0 };
	uint64_t guid = htobe64(XDIR_GUID_PREFIX | s->rlid);
	uint32_t h;

	r.pd = s->g.pd;
	r.ah.dlid = lid;
	r.ah.port_num = 1;
	r.ah.is_global = global;
	r.ah.hop_limit = 1;
	r.ah.flow_label = 0x12345;
	memcpy(r.ah.dgid, "\xfe\x80\0\0\0\0\0\0", 8);
	memcpy(r.ah.dgid + 8, &guid, 8);
	if (xd_ah_create(s->g.c.ctx, &r, &h))
		abort();
	return h;
}

static void side_init(struct ff_side *s, const char *name, unsigned int i,
		      uint32_t psn)
{
	memset(s, 0, sizeof(*s));
	s->host = i;
	s->rlid = i ? FF_RLID_B : FF_RLID_A;
	s->rqpn = 0x2000 + i;
	s->rsend = ffw.type == FF_XRC ? 0x3000 + i : s->rqpn;
	s->rsrqn = 0x4000 + i;
	s->rq_psn = (psn + i) & 0xffffff;
	s->sq_psn = (psn ^ 0x5a5a5a) & 0xffffff;
	s->rseq = s->rq_psn;
	s->ah_gid = s->ah_local = XENIB_INVALID_HANDLE;
	fz_guest_open(&s->g, name, (enum fzg_type)ffw.type, s == &ffw.s[1],
		      FF_CQ_ENTRIES, FF_BUF);
	s->lid = s->g.c.ctx->guest->lid;
}

static int modify(struct ff_side *s, uint32_t qpn, uint32_t mask,
		  const struct xenib_qp_attr *a)
{
	return fz_guest_modify(&s->g, qpn, mask, a);
}

struct xd_qp *ff_qp(struct ff_side *s)
{
	return s->gone || s->g.qp_gone ? NULL : tb_qp(s->g.c.ctx, s->g.qpn);
}

void ff_qp_reset(struct ff_side *s)
{
	struct xenib_qp_attr a = { .qp_state = IBV_QPS_RESET };

	if (s->gone)
		return;
	if (!s->g.qp_gone)
		modify(s, s->g.qpn, IBV_QP_STATE, &a);
	if (ffw.type == FF_XRC && !s->xrecv_gone)
		modify(s, s->g.xrecv, IBV_QP_STATE, &a);
}

/* The attributes every transition towards the remote may name. */
static void remote_attr(struct ff_side *s, struct xenib_qp_attr *a,
			uint32_t dest)
{
	memset(a, 0, sizeof(*a));
	a->port_num = 1;
	a->qkey = FF_QKEY;
	a->qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			     IBV_ACCESS_REMOTE_ATOMIC;
	a->path_mtu = IBV_MTU_1024;
	a->dest_qp_num = dest;
	a->rq_psn = s->rq_psn;
	a->sq_psn = s->sq_psn;
	a->max_dest_rd_atomic = 1;
	a->max_rd_atomic = 1;
	a->min_rnr_timer = 1;
	a->timeout = ffw.timeout;
	a->retry_cnt = ffw.retry_cnt;
	a->rnr_retry = ffw.rnr_retry;
	a->ah.dlid = s->rlid;
	a->ah.port_num = 1;
}

void ff_qp_init(struct ff_side *s)
{
	uint32_t init = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;
	struct xenib_qp_attr a;

	if (s->gone)
		return;
	remote_attr(s, &a, s->rqpn);
	a.qp_state = IBV_QPS_INIT;
	if (!s->g.qp_gone)
		modify(s, s->g.qpn, init | (ffw.type == FF_UD ? IBV_QP_QKEY :
					  IBV_QP_ACCESS_FLAGS), &a);
	if (ffw.type == FF_XRC && !s->xrecv_gone)
		modify(s, s->g.xrecv, init | IBV_QP_ACCESS_FLAGS, &a);
}

void ff_qp_rtr_rts(struct ff_side *s)
{
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rd = IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN;
	enum ff_type t = ffw.type;
	struct xenib_qp_attr a;

	if (s->gone)
		return;
	if (t != FF_UC && t != FF_UD)
		rts |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	if (t == FF_XRC && !s->xrecv_gone) {
		remote_attr(s, &a, s->rsend);
		a.qp_state = IBV_QPS_RTR;
		modify(s, s->g.xrecv, rtr | rd, &a);
	}
	if (s->g.qp_gone)
		return;
	remote_attr(s, &a, s->rqpn);
	a.qp_state = IBV_QPS_RTR;
	if (t == FF_UD)
		modify(s, s->g.qpn, IBV_QP_STATE, &a);
	else
		modify(s, s->g.qpn, rtr | (t == FF_UC || t == FF_XRC ? 0 : rd),
		       &a);
	a.qp_state = IBV_QPS_RTS;
	modify(s, s->g.qpn, rts, &a);
}

uint32_t ff_remote_type(void)
{
	static const uint32_t types[FF_TYPES] = {
		IBV_QPT_RC, IBV_QPT_UC, IBV_QPT_UD, IBV_QPT_XRC_SEND,
		IBV_QPT_RC,
	};

	return types[ffw.type];
}

void ff_freeze(struct ff_side *s, bool frozen)
{
	int prot = frozen ? PROT_NONE : PROT_READ | PROT_WRITE;
	struct list_node *pos, *tmp;

	if (s->gone || s->frozen == frozen)
		return;
	s->frozen = frozen;
	s->g.c.ctx->frozen = frozen;
	list_for_each_safe(pos, tmp, &s->g.c.ctx->regions) {
		struct xd_region *r = list_entry(pos, struct xd_region, link);

		if (mprotect(r->va, r->len, prot))
			abort();
	}
	/* MR views: their segments cover them exactly (mr.c). */
	list_for_each_safe(pos, tmp, &s->g.c.ctx->mrs) {
		struct xd_mr *mr = list_entry(pos, struct xd_mr, link);

		if (mprotect(mr->view, mr->view_len, prot))
			abort();
	}
}

void ff_side_fini(struct ff_side *s)
{
	if (s->gone)
		return;
	ff_freeze(s, false);	/* (Xen's destruction of frozen ones aside) */
	s->gone = true;
	fz_guest_close(&s->g);
}

void ff_world_start(enum ff_type type, uint32_t psn, uint8_t knobs)
{
	unsigned int i;

	fz_reset();
	fw_log_clear();
	fw_set_max_inflight(0);
	ffw.type = type;
	ffw.rnr_retry = knobs & 7;
	ffw.timeout = knobs & 8 ? 0 : 1 + ((knobs >> 4) & 3);
	ffw.retry_cnt = (knobs >> 6) & 3;
	xd.now_ns = 1000000000ull;
	for (i = 0; i < 2; i++) {
		ff_hosts[i].epoch = 7 + i;
		fd_host(ff_hosts[i].id, ff_hosts[i].addr, ff_hosts[i].epoch);
	}
	fd_loc(FF_RLID_A, ff_hosts[0].id);
	fd_loc(FF_RLID_B, ff_hosts[1].id);
	fd_loc(FF_RLID_NONE, NULL);
	fd_loc(FF_RLID_GONE, "ffz-gone");
	side_init(&ffw.s[0], "ffz-a", 0, psn);
	side_init(&ffw.s[1], "ffz-b", 1, psn);
	for (i = 0; i < 2 && type == FF_UD; i++) {	/* one side's global */
		struct ff_side *s = &ffw.s[i];

		s->g.ah = create_ah(s, s->rlid, i);
		s->ah_gid = create_ah(s, 0, true);
		s->ah_local = create_ah(s, ffw.s[!i].lid, i);
	}
	for (i = 0; i < 2; i++) {
		ff_qp_init(&ffw.s[i]);
		ff_qp_rtr_rts(&ffw.s[i]);
	}
}
