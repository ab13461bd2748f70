// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest memory shared with the backend over real Xen: gntalloc grants.
 *
 * gntalloc (/dev/xen/gntalloc) allocates pages, grants them to one domain
 * and lets us mmap them.  We map a grant where the memory must live: fresh
 * rings anywhere, registered application memory and re-granted memory
 * (after a resume) at their own addresses, copying the old contents first.
 * Each grant is released (DEALLOC_GREF) right after mapping, so the kernel
 * frees its pages, and ends the grants, when the last mapping goes away.
 *
 * Limits: gntalloc grants at most /sys/module/xen_gntalloc/parameters/limit
 * pages per domain (1024 by default; raise it with
 * `modprobe xen-gntalloc limit=N` or by writing that file), and the guest's
 * grant table holds max_grant_frames * 512 entries (xl.cfg
 * max_grant_frames).  Past either, allocation fails with ENOSPC and
 * the verb that needed the memory fails with it.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <xen/sys/gntalloc.h>

#include <rdma/xenib-abi.h>

#include "util/rawsys.h"
#include "util/xen/xen.h"

#define PAGE 4096u

static int gnt_fd = -1;
static uint32_t gnt_domid;

static int gnt_alloc(uint32_t npages, bool writable, uint64_t *index,
		     uint32_t *refs)
{
	struct ioctl_gntalloc_alloc_gref *op;
	size_t sz = sizeof(*op) + (size_t)npages * sizeof(uint32_t);
	int err = 0;

	op = calloc(1, sz);
	if (!op)
		return ENOMEM;
	op->domid = gnt_domid;
	op->flags = writable ? GNTALLOC_FLAG_WRITABLE : 0;
	op->count = npages;
	if (ioctl(gnt_fd, IOCTL_GNTALLOC_ALLOC_GREF, op)) {
		err = errno;
		if (err == ENOSPC || err == ENOMEM)
			fprintf(stderr,
				"xenib: cannot grant %u pages to domain %u: %s "
				"(gntalloc limit: /sys/module/xen_gntalloc/parameters/limit; "
				"grant table: xl.cfg max_grant_frames)\n",
				npages, gnt_domid, strerror(err));
	} else {
		*index = op->index;
		memcpy(refs, op->gref_ids, (size_t)npages * sizeof(uint32_t));
	}
	free(op);
	return err;
}

static void gnt_dealloc(uint64_t index, uint32_t npages)
{
	struct ioctl_gntalloc_dealloc_gref op = {
		.index = index, .count = npages,
	};

	ioctl(gnt_fd, IOCTL_GNTALLOC_DEALLOC_GREF, &op);
}

/*
 * Only CLEAR_BYTE, never UNMAP_NOTIFY_SEND_EVENT: the kernel keeps the port
 * number and, when the grant finally goes, calls evtchn_put() on it.  After
 * a save/restore or migration that number names nothing, or a channel that
 * reused the number (possibly another process's), which evtchn_put() would
 * then unbind.  xenibd watches the byte itself (xenibd/xen.c, front_gone).
 */
static int set_unmap_notify(uint64_t index, uint32_t off)
{
	struct ioctl_gntalloc_unmap_notify op = {
		.index = index + off,
		.action = UNMAP_NOTIFY_CLEAR_BYTE,
	};

	return ioctl(gnt_fd, IOCTL_GNTALLOC_SET_UNMAP_NOTIFY, &op) ? errno : 0;
}

int xg_grant_map(struct xg_grant *g, void **va, uint32_t npages, bool copy,
		 bool writable)
{
	return xg_grant_map_notify(g, va, npages, copy, writable, -1);
}

int xg_grant_map_notify(struct xg_grant *g, void **va, uint32_t npages,
			bool copy, bool writable, int clear_off)
{
	size_t len = (size_t)npages * PAGE;
	int prot = PROT_READ | PROT_WRITE;
	uint32_t *refs;
	uint64_t index = 0;
	void *tmp, *at;
	int err;

	if (!npages)
		return EINVAL;
	refs = malloc((size_t)npages * sizeof(*refs));
	if (!refs)
		return ENOMEM;
	err = gnt_alloc(npages, writable, &index, refs);
	if (err) {
		free(refs);
		return err;
	}
	tmp = mmap(NULL, len, prot, MAP_SHARED, gnt_fd, (off_t)index);
	if (tmp == MAP_FAILED) {
		err = errno;
		goto fail;
	}
	at = tmp;
	if (*va) {
		/*
		 * Over the application's memory in place: straight to the
		 * kernel, not through libc's mmap/munmap, which MPI memory
		 * hooks read as the memory going away (util/rawsys.h).
		 */
		if (copy)
			memcpy(tmp, *va, len);
		at = raw_mmap(*va, len, prot, MAP_SHARED | MAP_FIXED, gnt_fd,
			      (off_t)index);
		raw_munmap(tmp, len);
		if (at == MAP_FAILED) {
			err = errno;
			goto fail;
		}
	}
	/* Before the dealloc, which takes the grant out of our file. */
	if (clear_off >= 0) {
		err = set_unmap_notify(index, (uint32_t)clear_off);
		if (err) {
			munmap(at, len);
			goto fail;
		}
	}
	/* Pages and grants now live exactly as long as the mappings. */
	gnt_dealloc(index, npages);
	free(g->refs);
	g->refs = refs;
	g->index = index;
	if (g->vma_off)		/* re-granted in place: maps shows the new one */
		__atomic_store_n(g->vma_off, index, __ATOMIC_RELEASE);
	g->npages = npages;
	g->va = at;
	*va = at;
	return 0;
fail:
	gnt_dealloc(index, npages);
	free(refs);
	return err;
}

void xg_grant_free(struct xg_grant *g)
{
	free(g->refs);
	g->refs = NULL;
	g->npages = 0;
}

int xg_grant_dir(const struct xg_grant *g, struct xg_grant *dir,
		 void **dir_va)
{
	uint32_t nlist = (g->npages + XENIB_REFS_PER_PAGE - 1) /
			 XENIB_REFS_PER_PAGE;
	uint32_t *page, i;
	void *va = NULL;
	int err;

	if (nlist > XENIB_REFS_PER_PAGE)
		return EFBIG;
	memset(dir, 0, sizeof(*dir));
	err = xg_grant_map(dir, &va, 1 + nlist, false, false);
	if (err)
		return err;
	page = va;
	for (i = 0; i < nlist; i++)
		page[i] = dir->refs[1 + i];
	memcpy((char *)va + PAGE, g->refs, (size_t)g->npages * 4);
	*dir_va = va;
	return 0;
}

int xg_grant_init(uint32_t backend_domid)
{
	if (gnt_fd < 0) {
		gnt_fd = open("/dev/xen/gntalloc", O_RDWR | O_CLOEXEC);
		if (gnt_fd < 0)
			return errno;
	}
	gnt_domid = backend_domid;
	return 0;
}
