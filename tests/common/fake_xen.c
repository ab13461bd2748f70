// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The fake hypervisor of tests/common/fake_xen.h. */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/mman.h>

#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

#include "tests/common/fake_xen.h"

static int gfd = -1;
static char *gmem;		/* the guest's view of its memory */
struct fx_counts fx;

static int fake_map(uint32_t domid, const uint32_t *refs, uint32_t n,
		    void *at, bool writable, struct hvx_gmap *gm)
{
	char *base = at;
	uint32_t i;

	if (!n)
		return EINVAL;
	for (i = 0; i < n; i++)
		if (!refs[i] || refs[i] > FX_PAGES)
			return EFAULT;
	if (!base) {
		base = mmap(NULL, (size_t)n * 4096, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			return ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (mmap(base + (size_t)i * 4096, 4096,
			 PROT_READ | (writable ? PROT_WRITE : 0),
			 MAP_SHARED | MAP_FIXED, gfd,
			 (off_t)(refs[i] - 1) * 4096) == MAP_FAILED)
			return errno;
	gm->va = base;
	gm->len = (size_t)n * 4096;
	gm->index = 0;
	fx.map++;
	return 0;
}

static void fake_unmap(struct hvx_gmap *gm, bool keep)
{
	if (keep)
		mmap(gm->va, gm->len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	else
		munmap(gm->va, gm->len);
	gm->va = NULL;
	fx.unmap++;
}

static int fake_unmap_notify(const struct hvx_gmap *gm, uint32_t off,
			     uint32_t port)
{
	return off < gm->len ? 0 : EINVAL;
}

static int fake_unmap_notify_disarm(const struct hvx_gmap *gm, uint32_t off)
{
	fx.disarm++;
	return off < gm->len ? 0 : EINVAL;
}

static int fake_bind(uint32_t domid, uint32_t port)
{
	if (port == FX_BAD_PORT)
		return -EINVAL;
	fx.bind++;
	return port + 1000;
}

static int fake_notify(uint32_t port)
{
	fx.notify++;
	return 0;
}

static void fake_unbind(uint32_t port)
{
	fx.unbind++;
}

static const struct xd_hv_ops fake_ops = {
	.map = fake_map, .unmap = fake_unmap,
	.unmap_notify = fake_unmap_notify,
	.unmap_notify_disarm = fake_unmap_notify_disarm, .bind = fake_bind,
	.notify = fake_notify, .unbind = fake_unbind,
};

void *fx_page(uint32_t r)
{
	return gmem + (size_t)(r - 1) * 4096;
}

int fx_init(void)
{
	gfd = memfd_create("xenib-fake-guest", MFD_CLOEXEC);
	if (gfd < 0 || ftruncate(gfd, (off_t)FX_PAGES * 4096))
		return -1;
	gmem = mmap(NULL, (size_t)FX_PAGES * 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED, gfd, 0);
	if (gmem == MAP_FAILED)
		return -1;
	xd_hv = &fake_ops;
	return 0;
}
