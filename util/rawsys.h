/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Memory system calls that bypass libc's entry points.
 *
 * Registration re-backs application memory in place (same addresses, same
 * contents).  MPI libraries hook libc's mmap/munmap/mremap/madvise (UCX's
 * ucm in bistro or reloc mode, Open MPI's patcher) and read every call as
 * memory going away: their registration caches then drop the buffer and
 * register it again on the next message.  Nothing is released here, so
 * these calls go straight to the kernel with syscall(2), which neither
 * hooks, sanitizers nor interposers intercept.  The same holds for the
 * copy into the new pages (pwrite64): ASan's interceptor would check the
 * bytes around the application's buffer that registration copies along
 * with the page it shares.
 */
#ifndef XENIB_RAWSYS_H
#define XENIB_RAWSYS_H

#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* MAP_FAILED and errno on failure, like mmap(2). */
static inline void *raw_mmap(void *addr, size_t len, int prot, int flags,
			     int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static inline int raw_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

/*
 * UCX 1.13's ucm hooks mremap with four arguments: through libc in a
 * process that loaded UCX (xenibd's fabric does), MREMAP_FIXED's new
 * address would be lost.
 */
static inline void *raw_mremap(void *old, size_t old_len, size_t new_len,
			       int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
			       new_addr);
}

static inline int raw_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

static inline ssize_t raw_pwrite(int fd, const void *buf, size_t len,
				 off_t off)
{
	return (ssize_t)syscall(SYS_pwrite64, fd, buf, len, off);
}

#endif /* XENIB_RAWSYS_H */
