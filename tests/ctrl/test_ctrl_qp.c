// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, CREATE_QP: an unknown PD or CQs, an unknown
 * QP type.
 *
 * Usage: test_ctrl_qp [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <string.h>

#include "tests/common/ctrl_guest.h"

static void cases_create_qp(struct conn *a)
{
	struct xenib_create_qp_req req;
	int err;

	err = get_region(a);
	if (!err)
		err = get_pd(a);
	if (err) {
		setup_failed("CREATE_QP cases", "PD and data region", err);
		return;
	}
#define QP_CASE(nm, pd_, type_, scq, rcq) do {				\
		if (get_region(a) || get_pd(a))				\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_CREATE_QP, sizeof(req));	\
		req.pd = (pd_);						\
		req.qp_type = (type_);					\
		req.send_cq = (scq);					\
		req.recv_cq = (rcq);					\
		req.srq = XENIB_INVALID_HANDLE;				\
		req.max_send_sge = 1;					\
		req.max_recv_sge = 1;					\
		req.sq.region = a->region;				\
		req.sq.entries = 16;					\
		req.sq.offset = 0;					\
		req.sq.stride = 128;					\
		req.rq.region = a->region;				\
		req.rq.entries = 16;					\
		req.rq.offset = 4 * 4096;				\
		req.rq.stride = 64;					\
		refused(a, nm, &req, sizeof(req), -1, ANY_ERR, 0);	\
	} while (0)
	QP_CASE("CREATE_QP pd 12345", BOGUS, 2, BOGUS, BOGUS);
	QP_CASE("CREATE_QP send/recv CQ 12345", a->pd, 2, BOGUS, BOGUS);
	QP_CASE("CREATE_QP qp_type 99", a->pd, 99, BOGUS, BOGUS);
#undef QP_CASE
}

static void cases(struct conn *a, struct conn *b)
{
	cases_create_qp(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
