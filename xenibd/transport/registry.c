// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The transports this backend has, by name (a migration's destination). */
#include <string.h>

#include "xenibd/transport/emu_int.h"
#include "xenibd/transport/transport.h"
#include "xenibd/transport/xen/xen.h"

const struct xd_transport *xd_transport_by_name(const char *name)
{
	if (!strcmp(name, xd_emu_transport.name))
		return &xd_emu_transport;
	if (!strcmp(name, xd_xen_transport.name))
		return &xd_xen_transport;
	return NULL;
}
