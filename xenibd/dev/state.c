// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The device model's state: guests, contexts, handle tables. */
#include <errno.h>
#include <stdlib.h>

#include "xenibd/dev/dev.h"

struct xd_state xd;

int xd_state_init(void)
{
	xd.guests = calloc(xd.cfg.max_guests, sizeof(*xd.guests));
	xd.by_lid = calloc(1u << 16, sizeof(*xd.by_lid));
	if (!xd.guests || !xd.by_lid)
		return ENOMEM;
	list_init(&xd.ctxs);
	list_init(&xd.qps);
	return 0;
}
