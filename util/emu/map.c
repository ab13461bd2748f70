// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Embedded emulated hypervisor, backend side: check and map the memory
 * objects guests share (sealed memfds, shmem and hugetlbfs files, SysV
 * segments).  See hv.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "util/hv.h"

int hv_backend_check_shm(int fd, uint64_t offset, size_t len,
			 struct hv_obj_info *info)
{
	struct statfs sfs;
	struct stat st;
	int seals, fl;

	/*
	 * Memory only (shmem, hugetlbfs): a disk file's pages would be the
	 * page cache's, written back and truncated behind our back.
	 */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &sfs) ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC))
		return EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return EACCES;
	info->page = sfs.f_type == HUGETLBFS_MAGIC && sfs.f_bsize > 4096 ?
		     (size_t)sfs.f_bsize : 4096;
	/*
	 * A memfd sealed against shrinking can never fault the backend;
	 * anything else may be truncated later and must be mapped guarded.
	 */
	seals = fcntl(fd, F_GET_SEALS);
	info->sealed = seals >= 0 && (seals & F_SEAL_SHRINK);
	if (((offset | len) & (info->page - 1)) || !len ||
	    offset > (uint64_t)st.st_size || len > (uint64_t)st.st_size - offset)
		return EINVAL;
	return 0;
}

void *hv_backend_map(int fd, uint64_t offset, size_t len,
		     struct hv_obj_info *info)
{
	void *va;
	int err = hv_backend_check_shm(fd, offset, len, info);

	if (err) {
		errno = err;
		return NULL;
	}
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	return va == MAP_FAILED ? NULL : va;
}

int hv_backend_map_fixed(void *at, int fd, uint64_t offset, size_t len)
{
	void *va = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			fd, offset);

	return va == MAP_FAILED ? errno : 0;
}

void hv_backend_unmap(void *va, size_t len)
{
	if (va)
		munmap(va, len);
}

/* ipcperms(): may (uid, gid, groups) read and write the segment? */
static bool sysv_rw(const struct ipc_perm *p, const struct hv_peer *who)
{
	unsigned int mode = p->mode, i;
	bool group = who->gid == p->gid || who->gid == p->cgid;

	if (!who->known)
		return false;
	if (who->uid == 0)
		return true;
	for (i = 0; i < who->ngroups && !group; i++)
		group = who->groups[i] == p->gid || who->groups[i] == p->cgid;
	if (who->uid == p->uid || who->uid == p->cuid)
		mode >>= 6;
	else if (group)
		mode >>= 3;
	return (mode & 6) == 6;
}

int hv_backend_attach_sysv(int shmid, uint64_t offset, size_t len,
			   const struct hv_peer *who, void **base,
			   size_t *seg_len)
{
	struct shmid_ds ds;
	void *va;

	if (shmid < 0 || shmctl(shmid, IPC_STAT, &ds))
		return EINVAL;
	if (!sysv_rw(&ds.shm_perm, who))
		return EACCES;
	if ((offset | len) & 4095u || !len || offset > ds.shm_segsz ||
	    len > ds.shm_segsz - offset)
		return EINVAL;
	va = shmat(shmid, NULL, 0);
	if (va == (void *)-1)
		return errno == EIDRM ? EINVAL : errno;
	/* Check the segment actually attached (the id may be reused). */
	if (shmctl(shmid, IPC_STAT, &ds) || !sysv_rw(&ds.shm_perm, who) ||
	    offset + len > ds.shm_segsz) {
		shmdt(va);
		return EACCES;
	}
	*base = va;
	*seg_len = ds.shm_segsz;
	return 0;
}
