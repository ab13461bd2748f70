// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Protection domains and memory regions. */
#include "ibverbs.h"

#undef ibv_reg_mr
#undef ibv_reg_mr_iova

struct ibv_pd *ibv_alloc_pd(struct ibv_context *context)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_pd *pd;

	if (!ops->alloc_pd)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	pd = ops->alloc_pd(context);
	if (pd)
		pd->context = context;
	return pd;
}

struct ibv_pd *ibverbs_alloc_parent_domain(struct ibv_context *context,
				struct ibv_parent_domain_init_attr *attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_pd *pd;

	if (!ops->alloc_parent_domain)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	pd = ops->alloc_parent_domain(context, attr);
	if (pd)
		pd->context = context;
	return pd;
}

int ibv_dealloc_pd(struct ibv_pd *pd)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);

	if (!ops->dealloc_pd)
		return EOPNOTSUPP;
	return ops->dealloc_pd(pd);
}

static bool wants_fork_protection(unsigned int access)
{
	return !(access & IBV_ACCESS_ON_DEMAND);
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);
	struct ibv_mr *mr;

	if (!ops->reg_mr)
		return ibverbs_fail_ptr(EOPNOTSUPP);

	/* Optional access bits are hints no xenib device acts on. */
	access &= ~IBV_ACCESS_OPTIONAL_RANGE;
	mr = ops->reg_mr(pd, addr, length, iova, access);
	if (!mr)
		return NULL;

	/* After the provider: it may re-back the pages, dropping advice. */
	if (wants_fork_protection(access) && ibv_dontfork_range(addr, length)) {
		int err = errno;

		ops->dereg_mr(mr);
		return ibverbs_fail_ptr(err);
	}
	if (!mr->context)
		mr->context = pd->context;
	if (!mr->pd)
		mr->pd = pd;
	if (!mr->addr)
		mr->addr = addr;
	if (!mr->length)
		mr->length = length;
	return mr;
}

struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			  int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, (uintptr_t)addr, access);
}

struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
			       uint64_t iova, int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, iova, access);
}

struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
				 size_t length, uint64_t iova, int fd,
				 int access)
{
	return ibverbs_fail_ptr(EOPNOTSUPP);
}

static int rereg_check(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
		       void *addr, size_t length)
{
	if (!mr || !flags || (flags & ~IBV_REREG_MR_FLAGS_SUPPORTED))
		return EINVAL;
	if ((flags & IBV_REREG_MR_CHANGE_TRANSLATION) && (!addr || !length))
		return EINVAL;
	if ((flags & IBV_REREG_MR_CHANGE_PD) && !pd)
		return EINVAL;
	return 0;
}

int ibv_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
		 size_t length, int access)
{
	const struct verbs_context_ops *ops;
	bool move = flags & IBV_REREG_MR_CHANGE_TRANSLATION;
	void *old_addr;
	size_t old_len;
	int ret;

	ret = rereg_check(mr, flags, pd, addr, length);
	if (ret) {
		errno = ret;
		return IBV_REREG_MR_ERR_INPUT;
	}
	ops = ibverbs_ops(mr->context);
	if (!ops->rereg_mr) {
		errno = EOPNOTSUPP;
		return IBV_REREG_MR_ERR_INPUT;
	}
	if (flags & IBV_REREG_MR_CHANGE_ACCESS)
		access &= ~IBV_ACCESS_OPTIONAL_RANGE;

	old_addr = mr->addr;
	old_len = mr->length;
	ret = ops->rereg_mr(mr, flags, pd, addr, length, access);
	if (ret) {
		errno = ret;
		return IBV_REREG_MR_ERR_CMD;
	}
	if (flags & IBV_REREG_MR_CHANGE_PD)
		mr->pd = pd;
	if (!move)
		return 0;

	mr->addr = addr;
	mr->length = length;
	if (ibv_dontfork_range(addr, length))
		return IBV_REREG_MR_ERR_DONT_FORK_NEW;
	if (ibv_dofork_range(old_addr, old_len))
		return IBV_REREG_MR_ERR_DO_FORK_OLD;
	return 0;
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(mr->context);
	void *addr = mr->addr;
	size_t length = mr->length;
	int ret;

	if (!ops->dereg_mr)
		return EOPNOTSUPP;
	ret = ops->dereg_mr(mr);
	if (!ret)
		ibv_dofork_range(addr, length);
	return ret;
}
