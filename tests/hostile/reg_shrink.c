// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A guest that shrinks memory it registered as it is (issue 18's shared
 * objects): a /dev/shm file and its own memfd are registered, truncated
 * to nothing, then RDMA written and read through the MR.  xenibd touches
 * pages that no longer exist: it must survive (its SIGBUS guard maps zero
 * pages there) and finish the operations; only this guest's data is
 * lost.  The guest never touches its own truncated pages.
 * Usage: reg_shrink   (XENIB_EMU_DIR set, xenibd running)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "tests/common/check.h"
#include "tests/reg/reg_common.h"

#define LEN (1ul << 20)

static struct reg_dev dev;

static bool op(struct ibv_mr *mr, void *p, struct ibv_mr *dmr, char *d,
	       bool read)
{
	if (!read)
		return reg_write(&dev, dmr, d, mr, p, LEN);
	/* A WRITE the other way: the backend reads the shrunk pages. */
	return reg_write(&dev, mr, p, dmr, d, LEN);
}

static void shrink(enum reg_kind kind, struct ibv_mr *dmr, char *d)
{
	const char *name = reg_kind_name(kind);
	struct reg_mem m;
	struct ibv_mr *mr;
	bool ok;

	if (reg_map(&m, kind, LEN)) {
		result(false, "%s: map", name);
		return;
	}
	reg_fill(m.va, LEN, 3);
	mr = ibv_reg_mr(dev.pd, m.va, LEN, REG_ACCESS);
	result(mr != NULL, "%s: registered", name);
	if (!mr) {
		reg_unmap(&m);
		return;
	}
	result(op(mr, m.va, dmr, d, true) && reg_check_all(d, LEN, 3),
	       "%s: the backend reads it before the truncation", name);
	CHECK(!ftruncate(m.fd, 0), "%s: truncate to 0", name);
	reg_fill(d, LEN, 4);
	ok = op(mr, m.va, dmr, d, false);	/* into pages that are gone */
	memset(d, 0xee, LEN);
	ok = op(mr, m.va, dmr, d, true) && ok;	/* out of them */
	result(ok && d[0] != (char)0xee,
	       "%s: RDMA into and out of the truncated MR completes", name);
	CHECK(!ibv_dereg_mr(mr), "%s: dereg", name);
	reg_unmap(&m);
}

int main(void)
{
	struct ibv_mr *dmr;
	char *d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (reg_open(&dev))
		return 1;
	d = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dmr = d != MAP_FAILED ? ibv_reg_mr(dev.pd, d, LEN, REG_ACCESS) : NULL;
	if (!dmr)
		return 1;
	shrink(RK_SHMFILE, dmr, d);
	shrink(RK_MEMFD, dmr, d);
	ibv_dereg_mr(dmr);
	reg_close(&dev);
	return check_summary();
}
