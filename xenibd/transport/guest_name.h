/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which guest names xenibd accepts: both transports' names end up in log
 * lines, xenstore paths (Xen) and `xenibctl guests`, so none may carry
 * blanks, control characters, DEL or '/'.  Xen domain names and the names
 * emulated guests claim in HELLO follow the same rule.
 */
#ifndef XENIBD_TRANSPORT_GUEST_NAME_H
#define XENIBD_TRANSPORT_GUEST_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* name is 1 .. max - 1 bytes, none <= ' ', '/' or 0x7f. */
static inline bool xd_name_ok(const char *name, size_t max)
{
	size_t i;

	for (i = 0; i < max && name[i]; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == '/' ||
		    name[i] == 0x7f)
			return false;
	return i > 0 && i < max;
}

#endif /* XENIBD_TRANSPORT_GUEST_NAME_H */
