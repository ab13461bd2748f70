// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The responder's order on an RC connection (engine/rx_order.c), through
 * the local peer: the expected request runs once; the same request again
 * (a requester that went back, as after a migration) is answered again
 * without a second effect (no second receive WQE, no second atomic, READ
 * read again); one further ahead is answered "send again from the
 * expected one".
 */
#include <string.h>

#include "tests/common/sides.h"
#include "xenibd/engine/eng.h"

static const uint64_t base = 0x10000000;

/* One request of a's QP to b's, delivered by the local peer. */
static struct xd_answer deliver(struct side *a, struct side *b, uint32_t seq,
				uint32_t opcode, uint64_t raddr, void *buf,
				uint32_t len, uint64_t add)
{
	struct xd_qp *qa = tb_qp(a->ctx, a->qpn);
	struct xd_answer ans = { .ack = XD_NO_ANSWER };
	struct xd_req req = {
		.seq = seq, .src_qpn = a->qpn, .slid = a->ctx->guest->lid,
		.opcode = opcode, .flags = XD_REQ_FIRST | XD_REQ_LAST,
		.msg_len = len, .len = len, .remote_addr = raddr,
		.rkey = b->lkey, .compare_add = add,
	};
	struct xd_peer peer;
	struct xd_sgl data;

	xd_sgl_one(&data, buf, len);
	req.data = &data;
	if (!xd_local_peer.resolve(qa, &req, &peer))
		return ans;
	ans.ack = peer.ops->ready(&peer, qa, &req);
	if (ans.ack != XD_ACK)
		return ans;
	switch (opcode) {
	case IBV_WR_SEND:
		peer.ops->send(&peer, qa, &req, &ans);
		break;
	case IBV_WR_RDMA_READ:
		peer.ops->read(&peer, qa, &req, &ans);
		break;
	default:
		peer.ops->atomic(&peer, qa, &req, &ans);
		break;
	}
	return ans;
}

int main(void)
{
	struct side a, b;
	struct xenib_cqe cqe;
	struct xd_answer ans;
	struct xd_qp *qb;
	char msg[16] = "first";
	uint64_t orig = 0, *target;
	uint32_t s;

	sides_cast(&a, &b, NULL);
	connect_qp(&a, &b, 0, 0);
	connect_qp(&b, &a, 0, IBV_ACCESS_REMOTE_READ |
				  IBV_ACCESS_REMOTE_ATOMIC |
				  IBV_ACCESS_REMOTE_WRITE);
	qb = tb_qp(b.ctx, b.qpn);
	s = qb->eng->rx_expected;
	CHECK(s == qb->attr.rq_psn, "RTR: expects from rq_psn");

	post_recv(&b, 1, base, 64, b.lkey);
	post_recv(&b, 2, base + 64, 64, b.lkey);
	ans = deliver(&a, &b, s, IBV_WR_SEND, 0, msg, 6, 0);
	CHECK(ans.ack == XD_ACK && qb->eng->rx_expected == s + 1,
	      "expected SEND taken (ack %d)", ans.ack);
	CHECK(poll_one(&b, &cqe) && cqe.wr_id == 1 && cqe.byte_len == 6,
	      "into the first receive WQE");
	memcpy(msg, "again", 6);
	ans = deliver(&a, &b, s, IBV_WR_SEND, 0, msg, 6, 0);
	CHECK(ans.ack == XD_ACK && qb->eng->rx_expected == s + 1,
	      "the same SEND again: acknowledged (ack %d)", ans.ack);
	CHECK(!poll_one(&b, &cqe), "no second receive completion");
	CHECK(!memcmp((char *)b.buf.va + 64, "\0\0\0\0\0", 5),
	      "no second receive WQE consumed");

	target = (uint64_t *)((char *)b.buf.va + 1024);
	*target = 40;
	ans = deliver(&a, &b, s + 1, IBV_WR_ATOMIC_FETCH_AND_ADD, base + 1024,
		      &orig, 8, 2);
	CHECK(ans.ack == XD_ACK && ans.atomic_orig == 40 && *target == 42,
	      "fetch-and-add runs once (orig %llu, now %llu)",
	      (unsigned long long)ans.atomic_orig,
	      (unsigned long long)*target);
	ans = deliver(&a, &b, s + 1, IBV_WR_ATOMIC_FETCH_AND_ADD, base + 1024,
		      &orig, 8, 2);
	CHECK(ans.ack == XD_ACK && ans.atomic_orig == 40 && *target == 42,
	      "the same atomic again: its first result, no second add");

	memcpy((char *)b.buf.va + 2048, "readme", 7);
	memset(msg, 0, sizeof(msg));
	ans = deliver(&a, &b, s + 2, IBV_WR_RDMA_READ, base + 2048, msg, 7, 0);
	CHECK(ans.ack == XD_ACK && !strcmp(msg, "readme"), "READ");
	memcpy((char *)b.buf.va + 2048, "reread", 7);
	ans = deliver(&a, &b, s + 2, IBV_WR_RDMA_READ, base + 2048, msg, 7, 0);
	CHECK(ans.ack == XD_ACK && !strcmp(msg, "reread") &&
	      qb->eng->rx_expected == s + 3,
	      "the same READ again reads the bytes as they are now");

	ans = deliver(&a, &b, s + 7, IBV_WR_SEND, 0, msg, 6, 0);
	CHECK(ans.ack == XD_BUSY && ans.resend && ans.resend_from == s + 3,
	      "a later one: send again from the expected (ack %d from %u)",
	      ans.ack, ans.resend_from);
	ans = deliver(&a, &b, s + 3, IBV_WR_SEND, 0, msg, 6, 0);
	CHECK(ans.ack == XD_ACK && poll_one(&b, &cqe) && cqe.wr_id == 2,
	      "then the expected one into the next receive WQE");
	return sides_end((struct side *[]){ &a, &b }, 2);
}
