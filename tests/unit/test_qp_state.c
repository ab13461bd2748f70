// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The QP state machine: which transitions exist for which QP type, and
 * which attributes each one requires and allows.
 */
#include <errno.h>

#include "tests/common/sides.h"

static void test_state_machine(void)
{
	const uint32_t init = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			      IBV_QP_ACCESS_FLAGS;

	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
				      init), "RC RESET->INIT");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
				     init & ~IBV_QP_PORT) == EINVAL,
	      "RESET->INIT without PORT is rejected");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
				     init | IBV_QP_SQ_PSN) == EINVAL,
	      "RESET->INIT with a foreign attribute is rejected");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_RTR,
				     IBV_QP_STATE) == EINVAL,
	      "RESET->RTR does not exist");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR,
				     IBV_QP_STATE | IBV_QP_AV) == EINVAL,
	      "INIT->RTR needs its attributes");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_ERR,
				      IBV_QP_STATE), "RTS->ERR");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_ERR, IBV_QPS_RESET,
				      IBV_QP_STATE), "ERR->RESET");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_ERR, IBV_QPS_RTS,
				     IBV_QP_STATE) == EINVAL, "ERR->RTS rejected");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_SQE, IBV_QPS_RTS,
				     IBV_QP_STATE) == EINVAL,
	      "RC has no SQE state");
	CHECK(!xd_qp_check_transition(IBV_QPT_UC, IBV_QPS_SQE, IBV_QPS_RTS,
				      IBV_QP_STATE), "UC SQE->RTS");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_SQD,
				      IBV_QP_STATE), "RTS->SQD");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_SQD, IBV_QPS_RTS,
				      IBV_QP_STATE), "SQD->RTS");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_ERR,
				     IBV_QP_STATE | IBV_QP_PORT) == EINVAL,
	      "to-ERR takes no attributes");
}

int main(void)
{
	sides_start();
	test_state_machine();
	return check_summary();
}
