// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Which hypervisor this guest process talks through (util/hv.h): one rule
 * for every library of the guest side.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hv.h"

static bool file_has(const char *path, const char *what)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, what) != NULL;
}

bool hv_xen_domu(void)
{
	return file_has("/sys/hypervisor/type", "xen") &&
	       access("/dev/xen/xenbus_backend", F_OK) &&
	       !file_has("/proc/xen/capabilities", "control_d");
}

bool hv_guest_wants_xen(void)
{
	const char *mode = getenv("XENIB_HV");

	if (mode && *mode)
		return !strcmp(mode, "xen");
	/* Naming an emulated hypervisor's run directory picks it. */
	if (getenv("XENIB_EMU_DIR"))
		return false;
	return hv_xen_domu();
}
