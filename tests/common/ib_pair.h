/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The fixture of the IB error tests (tests/neg): two contexts of xenib0 in
 * one process, through our libibverbs and a running xenibd, play requester
 * (A) and responder (B); each case builds fresh RC endpoints on them
 * (ib_ep.h), connected with ibv_modify_qp directly, and judges
 * completions, QP states and async events with result() (check.h): one
 * PASS/FAIL line per check.
 */
#ifndef XENIB_TESTS_IB_PAIR_H
#define XENIB_TESTS_IB_PAIR_H

#include "tests/common/ib_ep.h"

#define BUF_SIZE	8192	/* of A's and B's buffers */

extern struct side A, B;

/*
 * Open A and B on xenib0, run the cases, close them: the exit status
 * (2 if xenib0 cannot be opened twice, 1 if a check failed).
 */
int ib_pair_main(void (*cases)(void));

/* Fresh endpoints a (on A) and b (on B), connected to each other. */
bool pair(struct ep *a, struct ep *b, const struct qp_opts *oa,
	  const struct qp_opts *ob);

#endif /* XENIB_TESTS_IB_PAIR_H */
