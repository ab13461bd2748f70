/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Test helper: take an RC QP from RESET to RTS, connected to a peer QP. */
#ifndef XENIB_TEST_RC_CONNECT_H
#define XENIB_TEST_RC_CONNECT_H

#include <stdint.h>
#include <infiniband/verbs.h>

struct test_rc_opts {
	unsigned int access;		/* qp_access_flags */
	enum ibv_mtu mtu;
	uint8_t rd_atomic;		/* max_rd_atomic and max_dest_rd_atomic */
	uint8_t min_rnr_timer;
	uint8_t timeout;
	uint8_t retry_cnt;
	uint8_t rnr_retry;
};

/* RESET -> INIT -> RTR -> RTS on port 1; 0, or -1 with errno. */
int test_rc_connect(struct ibv_qp *qp, uint32_t dest_qpn, uint16_t dlid,
		    const struct test_rc_opts *o);

#endif /* XENIB_TEST_RC_CONNECT_H */
