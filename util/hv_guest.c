// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Which hypervisor this process's contexts use (util/hv_guest.h).
 */
#include "util/hv_guest.h"

const struct hv_ops *hv_guest_select(void)
{
	return hv_guest_wants_xen() ? &hv_xen_guest_ops : &hv_emu_guest_ops;
}
