// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UD: address handles (validation, by LID or GID only, stats), datagrams
 * with immediate data and the GRH room, Q_Keys, silent drops, another
 * guest's AH handle, messages over the MTU.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "tests/common/sides.h"

static void ud_up(struct tqp *q, uint32_t qkey)
{
	struct xenib_qp_attr a = { 0 };

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qkey = qkey;
	CHECK(tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT,
			 &a) == EINVAL, "UD RESET->INIT requires QKEY");
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			  IBV_QP_QKEY, &a), "UD RESET->INIT");
	a.qp_state = IBV_QPS_RTR;
	CHECK(!tqp_modify(q, IBV_QP_STATE, &a), "UD INIT->RTR");
	a.qp_state = IBV_QPS_RTS;
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_SQ_PSN, &a), "UD RTR->RTS");
}

static int make_ah(struct side *s, uint32_t pd, const struct xenib_ah_attr *a,
		   uint32_t *h)
{
	struct xenib_create_ah_req req = { .pd = pd, .ah = *a };

	return xd_ah_create(s->ctx, &req, h);
}

static void test_ud(struct side *a, struct side *b, struct side *c)
{
	const uint64_t base = 0x10000000;
	struct xenib_ah_attr av = { .dlid = b->ctx->guest->lid, .port_num = 1 };
	struct xenib_ah_attr bad;
	struct xenib_send_wqe *w;
	struct xenib_cqe cqe;
	struct tqp ua, ub;
	uint32_t ah, gah, h;
	uint64_t guid_be = htobe64(b->ctx->guest->guid);
	long ahs = xd.stats.ahs;
	char *rb = (char *)b->buf.va + 1024;

	bad = av;
	bad.port_num = 2;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH on port 2");
	bad = av;
	bad.sl = 16;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH with sl 16");
	bad = av;
	bad.dlid = 0;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH without LID or GRH");
	bad.is_global = 1;
	bad.sgid_index = 1;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH with sgid_index 1");
	CHECK(make_ah(a, foreign(a, c, XD_KIND_PD), &av, &h) == ENOENT,
	      "AH on a foreign PD");
	CHECK(!make_ah(a, a->pd, &av, &ah), "AH by LID");
	bad.sgid_index = 0;
	bad.hop_limit = 64;
	bad.dgid[0] = 0xfe;
	bad.dgid[1] = 0x80;
	memcpy(&bad.dgid[8], &guid_be, 8);
	CHECK(!make_ah(a, a->pd, &bad, &gah), "AH by GID only");
	CHECK(xd.stats.ahs == ahs + 2, "stats count AHs");

	CHECK(!tqp_create(&ua, a, IBV_QPT_UD, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&ub, b, IBV_QPT_UD, XENIB_INVALID_HANDLE),
	      "UD QPs");
	ud_up(&ua, 0x1234);
	ud_up(&ub, 0x1234);

	memcpy(a->buf.va, "datagram!", 10);
	ring_recv(ub.rqh, &ub.rq_prod, 128, 80, base + 1024, 40 + 64, b->lkey);
	w = tqp_wqe(&ua, 81, IBV_WR_SEND_WITH_IMM, base, 10);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x1234;
	w->imm_data = htonl(7);
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RECV && cqe.wr_id == 80 &&
	      cqe.byte_len == 40 + 10 && cqe.qp_num == ub.qpn &&
	      cqe.src_qp == ua.qpn && cqe.slid == a->ctx->guest->lid &&
	      cqe.wc_flags == IBV_WC_WITH_IMM && cqe.imm_data == htonl(7),
	      "UD receive CQE (len %u flags %u)", cqe.byte_len, cqe.wc_flags);
	CHECK(!memcmp(rb + 40, "datagram!", 10), "UD data after the GRH room");
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 81 && cqe.opcode == IBV_WC_SEND, "UD send CQE");

	/* Wrong Q_Key: dropped, the sender still succeeds. */
	ring_recv(ub.rqh, &ub.rq_prod, 128, 82, base + 1024, 40 + 64, b->lkey);
	w = tqp_wqe(&ua, 83, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x4321;
	tqp_send_go(&ua);
	run_engine();
	CHECK(!poll_one(b, &cqe), "wrong Q_Key: datagram dropped");
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 83, "wrong Q_Key: sender completes");

	/* High bit: the QP's own Q_Key; GID-only AH: GRH written. */
	memset(rb, 0, 40);
	w = tqp_wqe(&ua, 84, IBV_WR_SEND, base, 10);
	w->ah = gah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x80000000u;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 82 && cqe.wc_flags == IBV_WC_GRH,
	      "GRH flag, QP's own Q_Key used (flags %u)", cqe.wc_flags);
	CHECK((uint8_t)rb[0] == 0x60 && (uint8_t)rb[6] == 0x1b &&
	      !memcmp(rb + 24, bad.dgid, 16), "GRH: version, next header, dgid");
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 84, "sender CQE");

	/* No receive WQE: dropped (no RNR for UD); unknown QPN likewise. */
	w = tqp_wqe(&ua, 85, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x1234;
	tqp_send_go(&ua);
	w = tqp_wqe(&ua, 86, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = 0xfffff0;
	w->remote_qkey = 0x1234;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 85 && poll_one(a, &cqe) &&
	      cqe.status == IBV_WC_SUCCESS && cqe.wr_id == 86 &&
	      !poll_one(b, &cqe), "no RQ WQE / no QP: silently dropped");

	/* Another guest's AH handle is not usable. */
	w = tqp_wqe(&ub, 87, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = ua.qpn;
	tqp_send_go(&ub);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 87 &&
	      cqe.status == IBV_WC_LOC_QP_OP_ERR, "foreign AH handle (%u)",
	      cqe.status);
	drain(b);

	/* More than one MTU: local length error. */
	w = tqp_wqe(&ua, 88, IBV_WR_SEND, base, XENIB_UD_MAX_MSG + 1);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 88 &&
	      cqe.status == IBV_WC_LOC_LEN_ERR, "UD message > MTU (%u)",
	      cqe.status);
	drain(a);

	CHECK(!xd_ah_destroy(a->ctx, ah) && !xd_ah_destroy(a->ctx, gah) &&
	      xd_ah_destroy(a->ctx, ah) == ENOENT, "AH destroy");
	CHECK(xd.stats.ahs == ahs, "AH stats back");
	tqp_destroy(&ua);
	tqp_destroy(&ub);
}

int main(void)
{
	struct side a, b, c;

	sides_cast(&a, &b, &c);
	test_ud(&a, &b, &c);
	return sides_end((struct side *[]){ &a, &b, &c }, 3);
}
