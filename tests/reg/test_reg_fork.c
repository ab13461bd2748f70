// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fork() and registered memory, as before re-backing got cheaper:
 *
 *  plain      registered pages are shared mappings: a child reads them,
 *             the parent's RDMA keeps working after the child is gone;
 *  fork_init  after ibv_fork_init() registered pages are not in the child
 *             (MADV_DONTFORK, upstream's behaviour): touching one kills
 *             the child with SIGSEGV, while the other pages of the same
 *             mapping and the heap are the child's as usual; the parent's
 *             MR and data are unaffected.
 *
 * Usage: test_reg_fork   (XENIB_EMU_DIR set, xenibd running)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "tests/common/check.h"
#include "tests/reg/reg_common.h"

#define MiB (1ul << 20)
#define LEN (4 * MiB)

static struct reg_dev dev;

/* Run fn in a child; its wait status. */
static int in_child(int (*fn)(char *), char *p)
{
	int st = 0;
	pid_t pid = fork();

	if (!pid) {
		signal(SIGSEGV, SIG_DFL);
		_exit(fn(p));
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static int child_reads(char *p)
{
	return reg_check(p + MiB, LEN - 2 * MiB, 31) ? 0 : 3;
}

static int child_edges(char *p)
{
	/* The unregistered first and last MiB are the child's own copy. */
	memset(p, 0x11, MiB);
	memset(p + LEN - MiB, 0x22, MiB);
	return p[0] == 0x11 && p[LEN - 1] == 0x22 ? 0 : 4;
}

static int child_touches(char *p)
{
	return ((volatile char *)p)[2 * MiB];	/* registered: not here */
}

static bool parent_ok(struct ibv_mr *mr, char *p, struct ibv_mr *dmr,
		      char *d, uint64_t seed)
{
	memset(d, 0, LEN - 2 * MiB);
	return reg_check(p + MiB, LEN - 2 * MiB, seed) &&
	       reg_write(&dev, mr, p + MiB, dmr, d, LEN - 2 * MiB) &&
	       reg_check_all(d, LEN - 2 * MiB, seed);
}

int main(void)
{
	struct ibv_mr *mr, *dmr;
	char *p, *d;
	int st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (reg_open(&dev))
		return 1;
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	d = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || d == MAP_FAILED)
		return 1;

	/* Without fork protection. */
	reg_fill(p + MiB, LEN - 2 * MiB, 31);
	mr = ibv_reg_mr(dev.pd, p + MiB, LEN - 2 * MiB, REG_ACCESS);
	dmr = ibv_reg_mr(dev.pd, d, LEN, REG_ACCESS);
	if (!mr || !dmr) {
		printf("FAIL registration: %s\n", strerror(errno));
		return 1;
	}
	st = in_child(child_reads, p);
	result(WIFEXITED(st) && !WEXITSTATUS(st),
	       "plain: a child reads the registered pages (status %#x)", st);
	result(parent_ok(mr, p, dmr, d, 31),
	       "plain: after the child, the parent's MR and data are intact");
	ibv_dereg_mr(mr);

	/* With it: registrations from now on are MADV_DONTFORK. */
	CHECK(!ibv_fork_init(), "ibv_fork_init");
	reg_fill(p + MiB, LEN - 2 * MiB, 32);
	mr = ibv_reg_mr(dev.pd, p + MiB, LEN - 2 * MiB, REG_ACCESS);
	CHECK(mr != NULL, "fork_init: register");
	if (!mr)
		return check_summary();
	st = in_child(child_edges, p);
	result(WIFEXITED(st) && !WEXITSTATUS(st),
	       "fork_init: the child has the unregistered pages of the same "
	       "mapping (status %#x)", st);
	st = in_child(child_touches, p);
	result(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	       "fork_init: registered pages are not in the child (SIGSEGV; "
	       "status %#x)", st);
	result(parent_ok(mr, p, dmr, d, 32) && p[0] == 0 &&
	       p[LEN - 1] == 0,
	       "fork_init: the parent's MR, data and other pages are intact");
	ibv_dereg_mr(mr);
	ibv_dereg_mr(dmr);
	reg_close(&dev);
	return check_summary();
}
