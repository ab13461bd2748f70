// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Objects ABI 1 does not have yet: shared receive queues and address
 * handles (AHs only matter for UD, which ABI 1 does not offer either).
 */
#include <errno.h>

#include "xenib.h"

struct ibv_srq *xenib_create_srq(struct ibv_pd *pd,
				 struct ibv_srq_init_attr *attr)
{
	static bool logged;

	if (!logged) {
		logged = true;
		xenib_err("shared receive queues (SRQ) are not supported yet (ABI %u)",
			  XENIB_ABI_VERSION);
	}
	errno = EOPNOTSUPP;
	return NULL;
}

struct ibv_ah *xenib_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	xenib_dbg("address handles are not supported yet (ABI %u)",
		  XENIB_ABI_VERSION);
	errno = EOPNOTSUPP;
	return NULL;
}
