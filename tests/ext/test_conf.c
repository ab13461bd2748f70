// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Verbs conformance corners (issue 16) through our libibverbs and a real
 * xenibd: CQ creation limits (comp_vector, max_cqe), ibv_query_device_ex's
 * port count and memory-window capabilities, ibv_rereg_mr (access, PD and
 * translation changes, new keys, the old ones refused, the bad inputs and
 * their IBV_REREG_MR_ERR_* codes), and parent domains with and without
 * custom allocators for QPs, CQs and SRQs (the allocator's memory is the
 * ring the backend uses: traffic flows through it).
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/common/ib_pair.h"

/* ---------------------------------------------------------- CQs, device */

static void case_cq_limits(void)
{
	struct ibv_device_attr_ex dx;
	struct ibv_cq *cq;
	struct ibv_cq_ex *cqx;
	struct ibv_cq_init_attr_ex ia = { .cqe = 4, .comp_vector = 0 };

	if (ibv_query_device_ex(A.ctx, NULL, &dx)) {
		result(false, "ibv_query_device_ex");
		return;
	}
	cq = ibv_create_cq(A.ctx, 4, NULL, NULL, A.ctx->num_comp_vectors);
	result(!cq && errno == EINVAL,
	       "ibv_create_cq comp_vector == num_comp_vectors (%d): EINVAL",
	       A.ctx->num_comp_vectors);
	if (cq)
		ibv_destroy_cq(cq);
	cq = ibv_create_cq(A.ctx, 4, NULL, NULL, -1);
	result(!cq && errno == EINVAL, "ibv_create_cq comp_vector -1: EINVAL");
	if (cq)
		ibv_destroy_cq(cq);
	cq = ibv_create_cq(A.ctx, dx.orig_attr.max_cqe + 1, NULL, NULL, 0);
	result(!cq && errno == EINVAL, "ibv_create_cq max_cqe + 1 (%d): EINVAL",
	       dx.orig_attr.max_cqe + 1);
	if (cq)
		ibv_destroy_cq(cq);
	cq = ibv_create_cq(A.ctx, dx.orig_attr.max_cqe, NULL, NULL, 0);
	result(cq != NULL, "ibv_create_cq max_cqe (%d) entries",
	       dx.orig_attr.max_cqe);
	if (cq)
		ibv_destroy_cq(cq);

	ia.comp_vector = A.ctx->num_comp_vectors;
	cqx = ibv_create_cq_ex(A.ctx, &ia);
	result(!cqx && errno == EINVAL,
	       "ibv_create_cq_ex comp_vector == num_comp_vectors: EINVAL");
	if (cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(cqx));
	ia.comp_vector = 0;
	ia.cqe = dx.orig_attr.max_cqe + 1;
	cqx = ibv_create_cq_ex(A.ctx, &ia);
	result(!cqx && errno == EINVAL, "ibv_create_cq_ex max_cqe + 1: EINVAL");
	if (cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(cqx));
}

static void case_device(void)
{
	struct ibv_device_attr_ex dx;
	struct ibv_device_attr d;

	if (ibv_query_device_ex(A.ctx, NULL, &dx) || ibv_query_device(A.ctx, &d)) {
		result(false, "device queries");
		return;
	}
	result(dx.phys_port_cnt_ex == dx.orig_attr.phys_port_cnt &&
	       dx.phys_port_cnt_ex == 1,
	       "phys_port_cnt_ex %u == phys_port_cnt %u", dx.phys_port_cnt_ex,
	       dx.orig_attr.phys_port_cnt);
	result(d.max_mw > 0 && d.max_mw == dx.orig_attr.max_mw,
	       "max_mw %d", d.max_mw);
	result(d.device_cap_flags & IBV_DEVICE_MEM_WINDOW,
	       "device_cap_flags has IBV_DEVICE_MEM_WINDOW");
	result((dx.device_cap_flags_ex & IBV_DEVICE_MEM_WINDOW_TYPE_2B) &&
	       !(dx.device_cap_flags_ex & IBV_DEVICE_MEM_WINDOW_TYPE_2A),
	       "device_cap_flags_ex: type 2B windows, not 2A");
	result(!(d.device_cap_flags & IBV_DEVICE_MEM_MGT_EXTENSIONS),
	       "no IBV_DEVICE_MEM_MGT_EXTENSIONS (no fast registration)");
}

/* ------------------------------------------------------------- rereg */

static void case_rereg(void)
{
	const char *w = "ibv_rereg_mr";
	struct ibv_pd *pd2 = ibv_alloc_pd(B.ctx), *apd = A.pd;
	char *buf = aligned_alloc(4096, BUF_SIZE);
	char *buf2 = aligned_alloc(4096, 2 * BUF_SIZE);
	struct ibv_mr *mr = NULL;
	uint32_t old_rkey, old_lkey;
	struct ep a, b;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (!pd2 || !buf || !buf2 || !pair(&a, &b, &dflt, &dflt))
		goto out;
	memset(buf, 0, BUF_SIZE);
	memset(buf2, 0, 2 * BUF_SIZE);
	mr = ibv_reg_mr(B.pd, buf, BUF_SIZE, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_READ);
	if (!mr)
		goto out;
	old_rkey = mr->rkey;
	old_lkey = mr->lkey;

	/* Access change: new keys, the old rkey is refused. */
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			  IBV_ACCESS_REMOTE_READ);
	result(rc == 0, "%s CHANGE_ACCESS (rc %d)", w, rc);
	result(mr->rkey != old_rkey && mr->lkey != old_lkey,
	       "%s: new keys (%#x -> %#x)", w, old_rkey, mr->rkey);
	memcpy(A.buf, "rereg!!", 8);
	post_send(&a, 1, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
		  (uintptr_t)buf + 16, mr->rkey);
	expect_wc(a.scq, "RDMA_WRITE with the access a rereg added", 1,
		  IBV_WC_SUCCESS, NULL);
	result(!memcmp(buf + 16, "rereg!!", 8), "%s: write landed", w);
	post_send(&a, 2, IBV_WR_RDMA_READ, va(&A, 64), 8, A.mr->lkey,
		  (uintptr_t)buf, old_rkey);
	expect_wc(a.scq, "RDMA_READ with the rkey from before a rereg", 2,
		  IBV_WC_REM_ACCESS_ERR, NULL);
	unpair(&a, &b);
	async_drain(&B);

	/* Bad inputs: the MR stays as it was. */
	old_rkey = mr->rkey;
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_PD, apd, NULL, 0, 0);
	result(rc == IBV_REREG_MR_ERR_CMD && errno == EINVAL,
	       "%s to a PD of another context: IBV_REREG_MR_ERR_CMD, EINVAL (rc %d)",
	       w, rc);
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_PD, NULL, NULL, 0, 0);
	result(rc == IBV_REREG_MR_ERR_INPUT,
	       "%s CHANGE_PD without a PD: IBV_REREG_MR_ERR_INPUT (rc %d)", w, rc);
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			  IBV_ACCESS_REMOTE_WRITE);
	result(rc == IBV_REREG_MR_ERR_CMD && errno == EINVAL,
	       "%s REMOTE_WRITE without LOCAL_WRITE: IBV_REREG_MR_ERR_CMD (rc %d)",
	       w, rc);
	rc = ibv_rereg_mr(mr, 1 << 5, NULL, NULL, 0, 0);
	result(rc == IBV_REREG_MR_ERR_INPUT, "%s unknown flag: ERR_INPUT", w);
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, NULL, 0,
			  0);
	result(rc == IBV_REREG_MR_ERR_INPUT,
	       "%s CHANGE_TRANSLATION without a range: ERR_INPUT", w);
	result(mr->rkey == old_rkey, "%s: failed reregs keep the keys", w);

	/* PD change and translation: the MR moves to buf2 and pd2. */
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_PD |
			  IBV_REREG_MR_CHANGE_TRANSLATION, pd2, buf2 + 4096,
			  BUF_SIZE, 0);
	result(rc == 0 && mr->pd == pd2 && mr->addr == buf2 + 4096 &&
	       mr->length == BUF_SIZE,
	       "%s CHANGE_PD | CHANGE_TRANSLATION (rc %d)", w, rc);
	/* B's QPs are on B.pd: the MR of pd2 is not theirs any more. */
	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	post_send(&a, 3, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
		  (uintptr_t)buf2 + 4096, mr->rkey);
	expect_wc(a.scq, "RDMA_WRITE to an MR moved to another PD", 3,
		  IBV_WC_REM_ACCESS_ERR, NULL);
	unpair(&a, &b);
	async_drain(&B);
	rc = ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_PD, B.pd, NULL, 0, 0);
	result(rc == 0, "%s back to the QPs' PD", w);
	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	memcpy(A.buf, "moved!!", 8);
	post_send(&a, 4, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
		  (uintptr_t)buf2 + 4096 + 100, mr->rkey);
	expect_wc(a.scq, "RDMA_WRITE into the new translation", 4,
		  IBV_WC_SUCCESS, NULL);
	result(!memcmp(buf2 + 4096 + 100, "moved!!", 8) &&
	       memcmp(buf + 100, "moved!!", 8),
	       "%s: bytes land in the new range, not the old", w);
	post_send(&a, 5, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
		  (uintptr_t)buf + 100, mr->rkey);
	expect_wc(a.scq, "RDMA_WRITE to the MR's old range", 5,
		  IBV_WC_REM_ACCESS_ERR, NULL);
	async_drain(&B);
out:
	unpair(&a, &b);
	if (mr)
		result(!ibv_dereg_mr(mr), "%s: dereg after reregs", w);
	if (pd2)
		ibv_dealloc_pd(pd2);
	free(buf);
	free(buf2);
}

/* ------------------------------------------------------ parent domains */

struct alloc_log {
	int allocs, frees, bad_align;
	uint64_t types[8];
	void *ptrs[8];
	size_t sizes[8];
};

static void *pd_alloc(struct ibv_pd *pd, void *pd_context, size_t size,
		      size_t alignment, uint64_t resource_type)
{
	struct alloc_log *l = pd_context;
	void *p;

	if (alignment < 4096 || (alignment & (alignment - 1)))
		l->bad_align++;
	/*
	 * Not COWed (ibv_alloc_parent_domain(3)): private memory with
	 * MADV_DONTFORK; xenib cannot adopt shared mappings (xenib(7)).
	 */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_DONTFORK);
	if (l->allocs < 8) {
		l->types[l->allocs] = resource_type;
		l->ptrs[l->allocs] = p;
		l->sizes[l->allocs] = size;
	}
	l->allocs++;
	return p;
}

static void pd_free(struct ibv_pd *pd, void *pd_context, void *ptr,
		    uint64_t resource_type)
{
	struct alloc_log *l = pd_context;
	int i;

	for (i = 0; i < l->allocs && i < 8; i++)
		if (l->ptrs[i] == ptr)
			munmap(ptr, l->sizes[i]);
	l->frees++;
}

static void *pd_alloc_default(struct ibv_pd *pd, void *pd_context,
			      size_t size, size_t alignment,
			      uint64_t resource_type)
{
	((struct alloc_log *)pd_context)->allocs++;
	return IBV_ALLOCATOR_USE_DEFAULT;
}

/* Is p inside one of the allocator's buffers? */
static bool from_alloc(const struct alloc_log *l, const void *p)
{
	int i;

	for (i = 0; i < l->allocs && i < 8; i++)
		if ((const char *)p >= (const char *)l->ptrs[i] &&
		    (const char *)p < (const char *)l->ptrs[i] + l->sizes[i])
			return true;
	return false;
}

/* Traffic from A to an RC QP of B made on pdom, with a CQ and an SRQ. */
static void pdom_traffic(const char *w, struct ibv_pd *pdom,
			 struct alloc_log *l)
{
	struct ibv_cq_init_attr_ex cia = {
		.cqe = 16, .comp_mask = IBV_CQ_INIT_ATTR_MASK_PD,
		.parent_domain = pdom,
	};
	struct ibv_srq_init_attr sia = { .attr = { .max_wr = 8, .max_sge = 1 } };
	struct ibv_cq_ex *cqx = ibv_create_cq_ex(B.ctx, &cia);
	struct ibv_srq *srq = ibv_create_srq(pdom, &sia);
	struct ibv_qp_init_attr qia = {
		.qp_type = IBV_QPT_RC, .srq = srq,
		.cap = { .max_send_wr = 8, .max_recv_wr = 0, .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_sge sge;
	struct ibv_wc wc;
	struct ep a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	result(cqx != NULL, "%s: ibv_create_cq_ex with the parent domain", w);
	result(srq != NULL, "%s: ibv_create_srq on the parent domain", w);
	if (!cqx || !srq)
		goto out;
	qia.send_cq = qia.recv_cq = ibv_cq_ex_to_cq(cqx);
	b.s = &B;
	b.scq = b.rcq = NULL;
	b.qp = ibv_create_qp(pdom, &qia);
	result(b.qp != NULL && b.qp->pd == pdom,
	       "%s: ibv_create_qp on the parent domain", w);
	if (!b.qp || !ep_create(&a, &A, 16))
		goto out;
	{
		struct ep peer_b = { .s = &B, .qp = b.qp };

		if (!ep_connect(&a, &peer_b, &dflt) ||
		    !ep_connect(&peer_b, &a, &dflt)) {
			result(false, "%s: connect", w);
			goto out;
		}
	}
	if (l && l->allocs) {
		result(l->allocs == 3 && !l->bad_align,
		       "%s: the allocator gave 3 page-aligned rings (%d)", w,
		       l->allocs);
		/* xenib(7): CQ, SRQ, QP rings, in the order made here. */
		result(l->types[0] == 0x78656e6900000001ull &&
		       l->types[1] == 0x78656e6900000003ull &&
		       l->types[2] == 0x78656e6900000002ull,
		       "%s: resource types of xenib(7) (CQ, SRQ, QP: %#llx %#llx %#llx)",
		       w, (unsigned long long)l->types[0],
		       (unsigned long long)l->types[1],
		       (unsigned long long)l->types[2]);
	}
	sge = (struct ibv_sge){ .addr = va(&B, 256), .length = 64,
				.lkey = B.mr->lkey };
	rwr = (struct ibv_recv_wr){ .wr_id = 77, .sg_list = &sge, .num_sge = 1 };
	result(!ibv_post_srq_recv(srq, &rwr, &rbad), "%s: post_srq_recv", w);
	memcpy(A.buf, "pdomain", 8);
	post_send(&a, 6, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	expect_wc(a.scq, w, 6, IBV_WC_SUCCESS, NULL);
	expect_wc(ibv_cq_ex_to_cq(cqx), w, 77, IBV_WC_SUCCESS, &wc);
	result(!memcmp(B.buf + 256, "pdomain", 8) && wc.byte_len == 8,
	       "%s: SEND through the parent domain's QP, SRQ and CQ", w);
	if (l && l->allocs == 3) {
		/* The rings are the allocator's memory: the indices are there. */
		uint32_t *cq_prod = l->ptrs[0];

		result(from_alloc(l, l->ptrs[0]) && *cq_prod >= 1,
		       "%s: the CQ ring the backend wrote is the allocator's memory (prod %u)",
		       w, *cq_prod);
	}
	post_send(&a, 7, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
		  va(&B, 512), B.mr->rkey);
	expect_wc(a.scq, "RDMA_WRITE to B's MR of the parent domain's PD", 7,
		  IBV_WC_SUCCESS, NULL);
out:
	if (b.qp)
		ibv_destroy_qp(b.qp);
	ep_destroy(&a);
	if (srq)
		ibv_destroy_srq(srq);
	if (cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(cqx));
}

static void case_parent_domain(void)
{
	struct alloc_log l = { 0 }, ld = { 0 };
	struct ibv_parent_domain_init_attr pa = { .pd = B.pd };
	struct ibv_cq_init_attr_ex cia = { .cqe = 4,
					   .comp_mask = IBV_CQ_INIT_ATTR_MASK_PD };
	struct ibv_pd *pdom;
	struct ibv_cq_ex *cqx;

	/* Without allocators. */
	pdom = ibv_alloc_parent_domain(B.ctx, &pa);
	result(pdom && pdom != B.pd && pdom->handle == B.pd->handle,
	       "ibv_alloc_parent_domain without allocators");
	if (pdom) {
		result(ibv_dealloc_pd(B.pd) == EBUSY,
		       "ibv_dealloc_pd of a PD under a parent domain: EBUSY");
		pdom_traffic("parent domain, default memory", pdom, NULL);
		result(!ibv_dealloc_pd(pdom), "ibv_dealloc_pd(parent domain)");
	}
	/* create_cq_ex with MASK_PD and a plain PD is refused. */
	cia.parent_domain = B.pd;
	cqx = ibv_create_cq_ex(B.ctx, &cia);
	result(!cqx && errno == EINVAL,
	       "ibv_create_cq_ex IBV_CQ_INIT_ATTR_MASK_PD with a plain PD: EINVAL");
	if (cqx)
		ibv_destroy_cq(ibv_cq_ex_to_cq(cqx));

	/* With allocators. */
	pa.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS |
		       IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;
	pa.alloc = pd_alloc;
	pa.free = pd_free;
	pa.pd_context = &l;
	pdom = ibv_alloc_parent_domain(B.ctx, &pa);
	result(pdom != NULL, "ibv_alloc_parent_domain with allocators");
	if (pdom) {
		pdom_traffic("parent domain, custom allocator", pdom, &l);
		result(l.frees == l.allocs && l.allocs == 3,
		       "custom allocator: every ring freed (%d of %d)",
		       l.frees, l.allocs);
		ibv_dealloc_pd(pdom);
	}
	/* An allocator that asks for the default. */
	pa.alloc = pd_alloc_default;
	pa.pd_context = &ld;
	pdom = ibv_alloc_parent_domain(B.ctx, &pa);
	if (pdom) {
		pdom_traffic("parent domain, IBV_ALLOCATOR_USE_DEFAULT", pdom,
			     NULL);
		result(ld.allocs == 3, "allocator asked 3 times (%d)",
		       ld.allocs);
		ibv_dealloc_pd(pdom);
	}
	/* Bad attributes. */
	pa.alloc = NULL;
	pdom = ibv_alloc_parent_domain(B.ctx, &pa);
	result(!pdom && errno == EINVAL,
	       "ibv_alloc_parent_domain ALLOCATORS without alloc: EINVAL");
	pa.pd = NULL;
	pdom = ibv_alloc_parent_domain(B.ctx, &pa);
	result(!pdom && errno == EINVAL,
	       "ibv_alloc_parent_domain without a PD: EINVAL");
}

static void cases(void)
{
	case_cq_limits();
	case_device();
	case_rereg();
	case_parent_domain();
}

int main(void)
{
	return ib_pair_main(cases);
}
