// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Parent domains (ibv_alloc_parent_domain(3)) and queue memory.
 *
 * A parent domain is a struct xenib_pd over a protection domain: it
 * carries that PD's backend handle, so the backend never hears of it.
 * With IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS, the rings of the QPs, CQs
 * and SRQs made with it come from the application's alloc(): the buffer
 * must be page aligned (we ask for page alignment), and is then adopted
 * (re-backed in place by the hypervisor layer, contents and address
 * kept) so that it really is the memory the backend reads and writes.
 * The application's free() gets it back after the object is destroyed
 * and the backend let go of it.  IBV_ALLOCATOR_USE_DEFAULT from alloc()
 * means our own shared pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

#define PD_MASK (IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS | \
		 IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT)

struct ibv_pd *xenib_alloc_parent_domain(struct ibv_context *ibctx,
				struct ibv_parent_domain_init_attr *attr)
{
	struct xenib_pd *base, *p;
	bool allocators;

	if (!attr || !attr->pd || attr->pd->context != ibctx ||
	    (attr->comp_mask & ~PD_MASK)) {
		errno = EINVAL;
		return NULL;
	}
	base = to_xpd(attr->pd);
	if (base->base) {	/* a parent domain over a parent domain */
		errno = EINVAL;
		return NULL;
	}
	if (attr->td) {
		/* No ibv_alloc_td(): a thread domain cannot be ours. */
		xenib_err("alloc_parent_domain: thread domains are not supported by xenib");
		errno = EOPNOTSUPP;
		return NULL;
	}
	allocators = attr->comp_mask & IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS;
	if (allocators && (!attr->alloc || !attr->free)) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->ibv_pd.context = ibctx;
	p->ibv_pd.handle = attr->pd->handle;
	p->base = base;
	if (allocators) {
		p->alloc = attr->alloc;
		p->free = attr->free;
	}
	if (attr->comp_mask & IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT)
		p->pd_context = attr->pd_context;
	__atomic_add_fetch(&base->parents, 1, __ATOMIC_RELAXED);
	xenib_dbg("alloc_parent_domain over PD %u%s", p->ibv_pd.handle,
		  allocators ? " with allocators" : "");
	return &p->ibv_pd;
}

bool xenib_is_parent_domain(struct ibv_context *ctx, struct ibv_pd *pd)
{
	return pd && pd->context == ctx && to_xpd(pd)->base;
}

int xenib_qmem_alloc(struct xenib_context *ctx, struct ibv_pd *pd,
		     struct hv_shm *shm, size_t bytes, const char *name,
		     uint64_t resource_type, struct xenib_qmem *qm)
{
	struct xenib_pd *p = pd ? to_xpd(pd) : NULL;
	void *buf;
	int err;

	memset(qm, 0, sizeof(*qm));
	qm->pd = pd;		/* a resize asks the same allocator */
	if (!p || !p->base || !p->alloc)
		return ctx->hv->shm_alloc(shm, bytes, name);
	buf = p->alloc(pd, p->pd_context, bytes, XENIB_PAGE_SIZE,
		       resource_type);
	if (buf == IBV_ALLOCATOR_USE_DEFAULT)
		return ctx->hv->shm_alloc(shm, bytes, name);
	if (!buf)
		return ENOMEM;
	if ((uintptr_t)buf & (XENIB_PAGE_SIZE - 1)) {
		xenib_err("parent domain allocator returned %p for %zu bytes: not page aligned as asked",
			  buf, bytes);
		err = EINVAL;
		goto fail;
	}
	shm->fd = -1;
	err = ctx->hv->shm_adopt(shm, buf, bytes);
	/*
	 * The ring is one region of exactly its pages: memory the adoption
	 * shares as more than one object, or rounds out to huge pages, is
	 * refused rather than mapped at the wrong place.
	 */
	if (!err && (shm->va != buf || shm->len != bytes)) {
		ctx->hv->shm_release(shm, 0);
		err = EINVAL;
	}
	if (err) {
		xenib_err("cannot share %zu bytes at %p from a parent domain allocator with xenibd: %s",
			  bytes, buf, strerror(err));
		goto fail;
	}
	qm->free = p->free;
	qm->pd_context = p->pd_context;
	qm->ptr = buf;
	qm->resource_type = resource_type;
	return 0;
fail:
	p->free(pd, p->pd_context, buf, resource_type);
	return err;
}

void xenib_qmem_free(struct xenib_context *ctx, struct hv_shm *shm,
		     struct xenib_qmem *qm)
{
	if (!qm->ptr) {
		ctx->hv->shm_release(shm, 1);
		return;
	}
	/* Stop sharing; the pages stay mapped for the application's free. */
	ctx->hv->shm_release(shm, 0);
	qm->free(qm->pd, qm->pd_context, qm->ptr, qm->resource_type);
	qm->ptr = NULL;
}
