/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Registration tests (tests/reg/): a device, a PD and a connected pair of
 * RC QPs on it, to check that what the backend reaches through an MR is
 * the application's memory (RDMA writes both ways), plus memory of every
 * kind a registration may meet.
 */
#ifndef XENIB_TEST_REG_COMMON_H
#define XENIB_TEST_REG_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

#define REG_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		    IBV_ACCESS_REMOTE_READ)

struct reg_dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qa, *qb;		/* connected to each other */
};

/* Open xenib0 and connect the QP pair; 0 or -1 (printed). */
int reg_open(struct reg_dev *d);
void reg_close(struct reg_dev *d);

/*
 * RDMA WRITE len bytes from src (lkey of smr) into dst (rkey of dmr) and
 * wait for its completion; true on IBV_WC_SUCCESS.
 */
bool reg_write(struct reg_dev *d, struct ibv_mr *smr, const void *src,
	       struct ibv_mr *dmr, void *dst, size_t len);

/* A pattern that tells pages and seeds apart; check one word per 512. */
void reg_fill(void *p, size_t len, uint64_t seed);
bool reg_check(const void *p, size_t len, uint64_t seed);
/* Every word (slow; for small buffers and destinations). */
bool reg_check_all(const void *p, size_t len, uint64_t seed);

/* Kinds of memory (reg_map): what registration must keep as it is. */
enum reg_kind {
	RK_PRIVATE, RK_THP, RK_SHARED, RK_SYSV, RK_SYSV_HUGE, RK_SHMFILE,
	RK_MEMFD, RK_HUGETLB, RK_NKINDS
};

struct reg_mem {
	enum reg_kind kind;
	void *va;
	size_t len;
	int fd;			/* shmfile / memfd: the object, else -1 */
	int shmid;		/* SysV, else -1 */
	char path[64];
};

const char *reg_kind_name(enum reg_kind k);
/* Map len bytes of kind; 0, or errno (ENOMEM etc.: kind unavailable). */
int reg_map(struct reg_mem *m, enum reg_kind kind, size_t len);
void reg_unmap(struct reg_mem *m);

/* What /proc/self/maps says backs addr: (dev, ino, off); false if none. */
bool reg_backing(const void *addr, uint64_t *dev, uint64_t *ino,
		 uint64_t *off, bool *shared);

#endif /* XENIB_TEST_REG_COMMON_H */
