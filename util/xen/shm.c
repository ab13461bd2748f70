// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: shared memory over grants (grant.c), and the
 * regions the backend maps, tracked for re-granting after a resume.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/maps.h"
#include "util/xen/xen.h"

/* MAP_REGION names a granted directory of the pages' grant refs. */
int xg_region_publish(struct hv_conn *conn, struct hv_shm *shm,
		      uint64_t *ref, int *pass_fd)
{
	struct xg_grant *g = shm->priv, dir = { 0 };
	void *dva;
	int err;

	*pass_fd = -1;
	if (!g)
		return EINVAL;
	err = xg_grant_dir(g, &dir, &dva);
	if (err)
		return err;
	*ref = dir.refs[0];
	g->dir_va = dva;
	g->dir_npages = dir.npages;
	xg_grant_free(&dir);
	return 0;
}

/* The directory goes; a mapped region is tracked for the resume. */
void xg_region_done(struct hv_conn *conn, struct hv_shm *shm,
		    uint32_t handle)
{
	struct xg_grant *g = shm->priv;
	struct xg_conn *c = to_xg(conn);

	if (!g)
		return;
	if (g->dir_va)
		munmap(g->dir_va, (size_t)g->dir_npages * XENIB_PAGE_SIZE);
	g->dir_va = NULL;
	if (handle == XENIB_INVALID_HANDLE)
		return;
	pthread_mutex_lock(&xg.lock);
	g->conn = c;
	g->handle = handle;
	list_add_tail(&c->regions, &g->link);
	pthread_mutex_unlock(&xg.lock);
}

static void untrack(struct xg_grant *g)
{
	pthread_mutex_lock(&xg.lock);
	if (g->conn) {
		list_del(&g->link);
		g->conn = NULL;
	}
	pthread_mutex_unlock(&xg.lock);
}

static int shm_map(struct hv_shm *shm, void *addr, size_t len, bool copy)
{
	struct xg_grant *g;
	void *va = addr;
	int err;

	if (!len || len % XENIB_PAGE_SIZE || len / XENIB_PAGE_SIZE > UINT32_MAX)
		return EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return ENOMEM;
	g->handle = XENIB_INVALID_HANDLE;
	list_init(&g->link);
	err = xg_grant_map(g, &va, (uint32_t)(len / XENIB_PAGE_SIZE), copy,
			   true);
	if (err) {
		free(g);
		return err;
	}
	g->va = va;
	shm->va = va;
	shm->len = len;
	shm->fd = -1;
	shm->offset = 0;
	shm->shmid = -1;
	shm->backing = NULL;
	shm->vma_off = g->index;
	g->vma_off = &shm->vma_off;
	shm->priv = g;
	return 0;
}

int xg_shm_alloc(struct hv_shm *shm, size_t len, const char *name)
{
	(void)name;
	return shm_map(shm, NULL, len, false);
}

/*
 * Private memory only, or pages we granted before (gntalloc mappings,
 * granted again with a copy): the guest kernel grants only pages gntalloc
 * allocated, so memory that is shared already (SysV, shm files, shared
 * anonymous memory) cannot be handed to the backend without breaking its
 * sharing, and is refused.  Unmapped or unreadable memory fails cleanly
 * (EFAULT) rather than faulting in the copy.
 */
static int adoptable(uintptr_t start, uintptr_t end)
{
	struct hv_maps m;
	uintptr_t cur = start;
	size_t i;
	int err;

	err = hv_maps_read(&m, start, end);
	if (err)
		return err;
	for (i = hv_maps_find(&m, start); !err && cur < end; i++) {
		const struct hv_vma *v = &m.v[i];

		if (i == m.n || v->lo > cur || !(v->prot & PROT_READ))
			err = EFAULT;
		else if (v->shared && strcmp(v->path, "/dev/xen/gntalloc"))
			err = EINVAL;
		else
			cur = v->hi;
	}
	hv_maps_free(&m);
	return err;
}

int xg_shm_adopt(struct hv_shm *shm, void *addr, size_t len)
{
	int err;

	if ((uintptr_t)addr % XENIB_PAGE_SIZE || !len ||
	    (uintptr_t)addr + len < (uintptr_t)addr)
		return EINVAL;
	err = adoptable((uintptr_t)addr, (uintptr_t)addr + len);
	if (err)
		return err;
	return shm_map(shm, addr, len, true);
}

void xg_shm_release(struct hv_shm *shm, int unmap)
{
	struct xg_grant *g = shm->priv;

	if (g)
		untrack(g);
	/*
	 * Adopted memory stays mapped for the application; its grant ends
	 * when the application unmaps it.
	 */
	if (unmap && shm->va)
		munmap(shm->va, shm->len);
	if (g) {
		xg_grant_free(g);
		free(g);
	}
	shm->priv = NULL;
	shm->va = NULL;
}
