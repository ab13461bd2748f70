// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Registration tests' fixture (reg_common.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "tests/common/rc_connect.h"
#include "tests/reg/reg_common.h"

#define WAIT_MS 5000

static const char *const names[RK_NKINDS] = {
	[RK_PRIVATE] = "private anonymous", [RK_THP] = "private THP",
	[RK_SHARED] = "shared anonymous", [RK_SYSV] = "SysV shm",
	[RK_SYSV_HUGE] = "SysV SHM_HUGETLB", [RK_SHMFILE] = "/dev/shm file",
	[RK_MEMFD] = "application memfd", [RK_HUGETLB] = "private MAP_HUGETLB",
};

const char *reg_kind_name(enum reg_kind k)
{
	return k < RK_NKINDS ? names[k] : "?";
}

int reg_open(struct reg_dev *d)
{
	static const struct test_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
		.mtu = IBV_MTU_1024, .rd_atomic = 4, .min_rnr_timer = 1,
		.timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
	};
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16, .max_recv_wr = 16,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_device **list;
	struct ibv_port_attr pa;
	int n, i;

	memset(d, 0, sizeof(*d));
	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n && !d->ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "xenib0"))
			d->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!d->ctx) {
		printf("FAIL cannot open xenib0\n");
		return -1;
	}
	d->pd = ibv_alloc_pd(d->ctx);
	d->cq = ibv_create_cq(d->ctx, 32, NULL, NULL, 0);
	if (!d->pd || !d->cq || ibv_query_port(d->ctx, 1, &pa))
		goto fail;
	qa.send_cq = qa.recv_cq = d->cq;
	d->qa = ibv_create_qp(d->pd, &qa);
	d->qb = ibv_create_qp(d->pd, &qa);
	if (!d->qa || !d->qb ||
	    test_rc_connect(d->qa, d->qb->qp_num, pa.lid, &o) ||
	    test_rc_connect(d->qb, d->qa->qp_num, pa.lid, &o))
		goto fail;
	return 0;
fail:
	printf("FAIL cannot set up a QP pair on xenib0: %s\n", strerror(errno));
	reg_close(d);
	return -1;
}

void reg_close(struct reg_dev *d)
{
	if (d->qa)
		ibv_destroy_qp(d->qa);
	if (d->qb)
		ibv_destroy_qp(d->qb);
	if (d->cq)
		ibv_destroy_cq(d->cq);
	if (d->pd)
		ibv_dealloc_pd(d->pd);
	if (d->ctx)
		ibv_close_device(d->ctx);
	memset(d, 0, sizeof(*d));
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool reg_write(struct reg_dev *d, struct ibv_mr *smr, const void *src,
	       struct ibv_mr *dmr, void *dst, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)src, .length = (uint32_t)len,
		.lkey = smr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 7, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE, .send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)dst,
			     .rkey = dmr->rkey },
	}, *bad;
	struct ibv_wc wc;
	double t0 = now_ms();
	int n;

	if (ibv_post_send(d->qa, &wr, &bad))
		return false;
	do {
		n = ibv_poll_cq(d->cq, 1, &wc);
	} while (!n && now_ms() - t0 < WAIT_MS);
	return n == 1 && wc.status == IBV_WC_SUCCESS;
}

static uint64_t word(uint64_t seed, size_t i)
{
	return seed ^ (i * 0x9e3779b97f4a7c15ull) ^ (i >> 9);
}

void reg_fill(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = word(seed, i);
}

bool reg_check(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	size_t i, n = len / 8, last;

	for (i = 0; i < n; i += 512) {
		last = i + 511 < n ? i + 511 : n - 1;
		if (w[i] != word(seed, i) || w[last] != word(seed, last))
			return false;
	}
	return true;
}

bool reg_check_all(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != word(seed, i))
			return false;
	return true;
}

int reg_map(struct reg_mem *m, enum reg_kind kind, size_t len)
{
	int prot = PROT_READ | PROT_WRITE, err;

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->len = len;
	m->fd = -1;
	m->shmid = -1;
	m->va = MAP_FAILED;
	switch (kind) {
	case RK_PRIVATE:
	case RK_THP:
		m->va = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
		if (m->va != MAP_FAILED && kind == RK_THP)
			madvise(m->va, len, MADV_HUGEPAGE);
		break;
	case RK_HUGETLB:
		m->va = mmap(NULL, len, prot,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		break;
	case RK_SHARED:
		m->va = mmap(NULL, len, prot, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
		break;
	case RK_SYSV:
	case RK_SYSV_HUGE:
		m->shmid = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600 |
				  (kind == RK_SYSV_HUGE ? SHM_HUGETLB : 0));
		if (m->shmid < 0)
			return errno;
		m->va = shmat(m->shmid, NULL, 0);
		/* Gone with the last detach (as UCX's allocator does). */
		shmctl(m->shmid, IPC_RMID, NULL);
		if (m->va == (void *)-1) {
			m->va = MAP_FAILED;
			return errno;
		}
		return 0;
	case RK_SHMFILE:
		snprintf(m->path, sizeof(m->path), "/dev/shm/xenib-reg.%d.%p",
			 (int)getpid(), (void *)m);
		m->fd = open(m->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			     0600);
		break;
	case RK_MEMFD:
		m->fd = memfd_create("app-buffer", MFD_CLOEXEC);
		break;
	default:
		return EINVAL;
	}
	if (m->fd >= 0) {
		if (ftruncate(m->fd, len))
			return errno;
		m->va = mmap(NULL, len, prot, MAP_SHARED, m->fd, 0);
	}
	if (m->va == MAP_FAILED) {
		err = errno ? errno : ENOMEM;
		reg_unmap(m);
		return err;
	}
	return 0;
}

void reg_unmap(struct reg_mem *m)
{
	if (m->va != MAP_FAILED && m->va) {
		if (m->shmid >= 0)
			shmdt(m->va);
		else
			munmap(m->va, m->len);
	}
	if (m->fd >= 0)
		close(m->fd);
	if (m->path[0])
		unlink(m->path);
	m->va = MAP_FAILED;
	m->fd = -1;
	m->path[0] = 0;
}

bool reg_backing(const void *addr, uint64_t *dev, uint64_t *ino,
		 uint64_t *off, bool *shared)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t a = (uintptr_t)addr;
	char line[512], perms[5];
	unsigned long lo, hi, o, maj, min, in;
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s %lx %lx:%lx %lu", &lo, &hi, perms,
			   &o, &maj, &min, &in) == 7 && lo <= a && a < hi) {
			*dev = (uint64_t)maj << 32 | min;
			*ino = in;
			*off = o + (a - lo);
			*shared = perms[3] == 's';
			found = true;
		}
	fclose(f);
	return found;
}
