// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Small sysfs file readers kept for tools and providers that use them. */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ibverbs.h"

static char sysfs_path[PATH_MAX];
static pthread_once_t sysfs_once = PTHREAD_ONCE_INIT;

static void find_sysfs_path(void)
{
	const char *env = getenv("SYSFS_PATH");
	size_t len;

	snprintf(sysfs_path, sizeof(sysfs_path), "%s",
		 env && *env ? env : "/sys");
	len = strlen(sysfs_path);
	while (len > 1 && sysfs_path[len - 1] == '/')
		sysfs_path[--len] = '\0';
}

const char *ibv_get_sysfs_path(void)
{
	pthread_once(&sysfs_once, find_sysfs_path);
	return sysfs_path;
}

/* Read a whole small file into buf, NUL-terminated, without a final '\n'. */
static int read_file(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	if (!size) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return len;
}

int ibv_read_sysfs_file(const char *dir, const char *file, char *buf,
			size_t size)
{
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return read_file(path, buf, size);
}

/*
 * Read a file under a device's ibdev_path.  Upstream passes its sysfs record
 * of the device here; ours is the ibv_device itself.
 */
int ibv_read_ibdev_sysfs_file(char *buf, size_t size,
			      struct ibv_device *device, const char *fnfmt, ...)
{
	char file[PATH_MAX];
	va_list ap;
	int n;

	if (!device) {
		errno = EINVAL;
		return -1;
	}
	va_start(ap, fnfmt);
	n = vsnprintf(file, sizeof(file), fnfmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(file)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return ibv_read_sysfs_file(device->ibdev_path, file, buf, size);
}
