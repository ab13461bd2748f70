// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Embedded emulated hypervisor, guest side: shareable memory is a sealed
 * memfd, new (hv_shm_alloc here) or re-backing application memory in place
 * (hv_shm_adopt, adopt.c).  The backend maps the fd it is handed (map.c).
 * See hv.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/hv.h"

/* memfd of len bytes, sealed so that it can never shrink or grow. */
static int shm_create(const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int hv_shm_alloc(struct hv_shm *shm, size_t len, const char *name)
{
	int fd;
	void *va;

	shm->priv = NULL;
	shm->backing = NULL;
	shm->offset = shm->vma_off = 0;
	shm->shmid = -1;
	fd = shm_create(name, len);
	if (fd < 0)
		return -fd;
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (va == MAP_FAILED) {
		int err = errno;

		close(fd);
		return err;
	}
	shm->va = va;
	shm->len = len;
	shm->fd = fd;
	return 0;
}

void hv_shm_release(struct hv_shm *shm, int unmap)
{
	if (unmap && shm->va)
		munmap(shm->va, shm->len);
	if (shm->fd >= 0)
		close(shm->fd);
	hv_emu_backing_put(shm->backing);
	shm->backing = NULL;
	shm->va = NULL;
	shm->fd = -1;
}
