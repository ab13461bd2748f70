// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ibv_reg_mr keeps memory as it was, whatever the memory: through our
 * libibverbs, the provider and a real xenibd.
 *
 *  kinds    private, THP, shared anonymous, SysV (and SHM_HUGETLB, private
 *           MAP_HUGETLB where the host has huge pages), /dev/shm files, an
 *           application's memfd: address and contents unchanged by
 *           registration; RDMA writes both ways show that the backend
 *           reaches the application's very pages, and for shared objects
 *           the object itself (read back through its fd or a second
 *           attach), so sharing with other processes survives;
 *  threads  threads keep writing to other pages of the same mapping while
 *           its middle is registered: no write is lost;
 *  again    registering the same buffer again re-backs nothing (same object
 *           at the same offset), after dereg too;
 *  remap    memory unmapped and mapped anew at the same address is what a
 *           new registration reaches; an MR still registered keeps the
 *           pages it had, as with a real HCA;
 *  hooks    no mmap/munmap/mremap/madvise of libc over the buffer during
 *           ibv_reg_mr (what MPI memory hooks read as memory released);
 *  unpriv   (run as an unprivileged user by test_reg.sh) SysV segments
 *           register, shared anonymous memory fails with EINVAL.
 *
 * Usage: test_reg_mem [all|unpriv]   (XENIB_EMU_DIR set, xenibd running)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#include "tests/common/check.h"
#include "tests/reg/reg_common.h"

#define MiB (1ul << 20)

static struct reg_dev dev;
static struct ibv_mr *dst_mr;		/* a private destination */
static char *dst;
#define DST_LEN (8 * MiB)

/* ---------------------------------------------------------------- hooks */

/*
 * This executable's mmap & co. come before libc's for every library (as
 * UCX's reloc hooks do): count the calls that touch [watch_lo, watch_hi).
 */
static atomic_uintptr_t watch_lo, watch_hi;
static atomic_int hooked;

static __attribute__((unused)) void seen(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, lo = atomic_load(&watch_lo);

	if (lo && a < atomic_load(&watch_hi) && a + len > lo)
		atomic_fetch_add(&hooked, 1);
}

#ifndef __SANITIZE_ADDRESS__
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (flags & MAP_FIXED)
		seen(addr, len);
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int munmap(void *addr, size_t len)
{
	seen(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}

int madvise(void *addr, size_t len, int advice)
{
	/* DONTFORK is libibverbs' fork protection, not a release. */
	if (advice != MADV_DONTFORK && advice != MADV_DOFORK)
		seen(addr, len);
	return (int)syscall(SYS_madvise, addr, len, advice);
}

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	seen(old, old_len);
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, NULL);
}
#endif

/* -------------------------------------------------------------- helpers */

static struct ibv_mr *reg(void *p, size_t len)
{
	return ibv_reg_mr(dev.pd, p, len, REG_ACCESS);
}

/* The backend reaches p's pages: RDMA both ways through mr. */
static bool both_ways(struct ibv_mr *mr, void *p, size_t len, uint64_t seed,
		      uint64_t seed2)
{
	size_t n = len < DST_LEN ? len : DST_LEN;

	memset(dst, 0, n);
	if (!reg_write(&dev, mr, p, dst_mr, dst, n) ||
	    !reg_check_all(dst, n, seed))
		return false;
	reg_fill(dst, n, seed2);
	return reg_write(&dev, dst_mr, dst, mr, p, n) &&
	       reg_check_all(p, n, seed2);
}

/* ---------------------------------------------------------------- kinds */

/* Read the object itself, not our mapping of it. */
static bool object_has(const struct reg_mem *m, size_t n, uint64_t seed)
{
	char *copy;
	bool ok;

	if (m->fd >= 0) {
		copy = malloc(n);
		ok = copy && pread(m->fd, copy, n, 0) == (ssize_t)n &&
		     reg_check_all(copy, n, seed);
		free(copy);
		return ok;
	}
	if (m->shmid >= 0) {
		copy = shmat(m->shmid, NULL, SHM_RDONLY);
		if (copy == (void *)-1)
			return true;	/* removed: nothing else to compare */
		ok = reg_check_all(copy, n, seed);
		shmdt(copy);
		return ok;
	}
	return true;
}

static void one_kind(enum reg_kind kind, size_t len, bool want_ok)
{
	const char *name = reg_kind_name(kind);
	uint64_t seed = 0x1000 + kind, seed2 = 0x2000 + kind;
	struct reg_mem m;
	struct ibv_mr *mr;
	size_t n = len;		/* every kind's len fits the destination */
	int err = reg_map(&m, kind, len);

	if (err) {
		printf("SKIP %s: cannot map %zu bytes: %s\n", name, len,
		       strerror(err));
		return;
	}
	reg_fill(m.va, len, seed);
	mr = reg(m.va, len);
	err = mr ? 0 : errno;
	if (!want_ok) {
		result(!mr && err == EINVAL,
		       "%s: registration refused with EINVAL (got %s)", name,
		       mr ? "success" : strerror(err));
		if (mr)
			ibv_dereg_mr(mr);
		result(reg_check(m.va, len, seed),
		       "%s: contents unchanged after the refusal", name);
		reg_unmap(&m);
		return;
	}
	result(mr != NULL, "%s: %zu bytes register (%s)", name, len,
	       mr ? "ok" : strerror(err));
	if (!mr) {
		reg_unmap(&m);
		return;
	}
	CHECK(mr->addr == m.va && mr->length == len,
	      "%s: MR addr/length as given", name);
	result(reg_check(m.va, len, seed),
	       "%s: address and contents unchanged by registration", name);
	result(both_ways(mr, m.va, len, seed, seed2),
	       "%s: RDMA writes from and into it move the application's data",
	       name);
	result(object_has(&m, n, seed2),
	       "%s: the backend wrote the shared object itself", name);
	CHECK(!ibv_dereg_mr(mr), "%s: dereg", name);
	result(reg_check_all(m.va, n, seed2),
	       "%s: contents unchanged by deregistration", name);
	reg_unmap(&m);
}

static void test_kinds(void)
{
	char *small;
	struct ibv_mr *mr;

	one_kind(RK_PRIVATE, 6 * MiB, true);
	one_kind(RK_THP, 8 * MiB, true);
	one_kind(RK_SHARED, 4 * MiB, true);
	one_kind(RK_SYSV, 4 * MiB, true);
	one_kind(RK_SHMFILE, 4 * MiB, true);
	one_kind(RK_MEMFD, 4 * MiB, true);
	one_kind(RK_SYSV_HUGE, 4 * MiB, true);
	one_kind(RK_HUGETLB, 4 * MiB, true);

	/* A heap object: its page's neighbours must survive too. */
	small = malloc(100);
	memset(small, 0x5a, 100);
	mr = reg(small + 10, 1);
	result(mr && small[10] == 0x5a && small[0] == 0x5a && small[99] == 0x5a,
	       "a 1-byte heap buffer registers, the heap around it intact");
	if (mr)
		ibv_dereg_mr(mr);
	free(small);
}

/* -------------------------------------------------------------- threads */

#define T_LEN	(48 * MiB)
#define T_EDGE	(8 * MiB)	/* threads' pages, each end */
#define NTHREADS 2

struct toucher {
	char *base;
	size_t len;
	atomic_int *stop;
	unsigned long rounds, lost;
};

/* Write a counter into every page, each round checking the last one. */
static void *touch(void *arg)
{
	struct toucher *t = arg;
	size_t pg, npg = t->len / 4096;
	uint64_t r = 0;

	while (!atomic_load(t->stop) || r < 3) {
		for (pg = 0; pg < npg; pg++) {
			volatile uint64_t *w = (uint64_t *)(t->base + pg * 4096);

			if (r && *w != r)
				t->lost++;
			*w = r + 1;
		}
		r++;
	}
	t->rounds = r;
	return NULL;
}

static void test_threads(void)
{
	struct reg_mem m;
	struct toucher t[NTHREADS];
	pthread_t th[NTHREADS];
	atomic_int stop = 0;
	struct ibv_mr *mr;
	unsigned long lost = 0;
	int i, k, err;

	err = reg_map(&m, RK_PRIVATE, T_LEN);
	if (err) {
		result(false, "threads: map 48 MiB: %s", strerror(err));
		return;
	}
	/* The pattern of the middle starts at its first byte. */
	reg_fill((char *)m.va + T_EDGE, T_LEN - 2 * T_EDGE, 77);
	for (i = 0; i < NTHREADS; i++) {
		t[i] = (struct toucher){
			.base = (char *)m.va + (i ? T_LEN - T_EDGE : 0),
			.len = T_EDGE, .stop = &stop,
		};
		pthread_create(&th[i], NULL, touch, &t[i]);
	}
	/* Register, drop and register the middle again while they write. */
	for (k = 0, mr = NULL; k < 3; k++) {
		mr = reg((char *)m.va + T_EDGE, T_LEN - 2 * T_EDGE);
		if (!mr || k == 2)
			break;
		ibv_dereg_mr(mr);
		mr = NULL;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		lost += t[i].lost;
	}
	result(mr != NULL, "threads: the middle of a mapping registers while "
	       "%d threads write its ends", NTHREADS);
	result(!lost, "threads: no write to the other pages was lost "
	       "(%lu lost, %lu and %lu rounds)", lost, t[0].rounds,
	       t[1].rounds);
	result(reg_check((char *)m.va + T_EDGE, T_LEN - 2 * T_EDGE, 77),
	       "threads: the registered pages kept their contents");
	if (mr) {
		result(both_ways(mr, (char *)m.va + T_EDGE, DST_LEN, 77, 78),
		       "threads: the backend reaches the registered pages");
		ibv_dereg_mr(mr);
	}
	reg_unmap(&m);
}

/* ---------------------------------------------------------------- again */

static void test_again(void)
{
	uint64_t d1, i1, o1, d2, i2, o2;
	bool s1, s2, ok = true;
	struct reg_mem m;
	struct ibv_mr *mr, *mr2;
	int k;

	if (reg_map(&m, RK_PRIVATE, 4 * MiB)) {
		result(false, "again: map");
		return;
	}
	reg_fill(m.va, m.len, 5);
	mr = reg(m.va, m.len);
	CHECK(mr && reg_backing(m.va, &d1, &i1, &o1, &s1) && s1,
	      "again: registered memory is shared now");
	/* Overlapping and contained registrations share the same pages. */
	mr2 = reg((char *)m.va + MiB, MiB);
	CHECK(mr2 && reg_backing(m.va, &d2, &i2, &o2, &s2) &&
	      d1 == d2 && i1 == i2 && o1 == o2,
	      "again: a second MR inside the first re-backs nothing");
	if (mr2)
		ibv_dereg_mr(mr2);
	for (k = 0; k < 5 && mr; k++) {
		ok &= !ibv_dereg_mr(mr);
		mr = reg(m.va, m.len);
		ok &= mr && reg_backing(m.va, &d2, &i2, &o2, &s2) &&
		      d1 == d2 && i1 == i2 && o1 == o2;
	}
	result(ok && mr, "again: dereg + reg of the same buffer 5 times keeps "
	       "the same shared object, nothing copied");
	result(mr && reg_check(m.va, m.len, 5) &&
	       both_ways(mr, m.va, m.len, 5, 6),
	       "again: contents intact, the backend reaches them");
	if (mr)
		ibv_dereg_mr(mr);
	reg_unmap(&m);
}

/* ---------------------------------------------------------------- remap */

static void test_remap(void)
{
	size_t len = 2 * MiB;
	struct ibv_mr *old, *mr;
	void *p, *q;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		result(false, "remap: map");
		return;
	}
	reg_fill(p, len, 11);
	mr = reg(p, len);
	if (mr)
		ibv_dereg_mr(mr);
	/* Unmapped after dereg, new memory at the same place. */
	q = mmap(p, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	reg_fill(q, len, 12);
	mr = reg(q, len);
	result(q == p && mr && both_ways(mr, q, len, 12, 13),
	       "remap: memory mapped anew where an MR was is what the next "
	       "registration reaches");
	/* Now while still registered: the old MR keeps its pages. */
	old = mr;
	q = mmap(p, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	reg_fill(q, len, 14);
	mr = reg(q, len);
	result(mr && both_ways(mr, q, len, 14, 15),
	       "remap: with the old MR still registered, a new MR reaches the "
	       "new memory");
	memset(dst, 0, DST_LEN < len ? DST_LEN : len);
	result(old && reg_write(&dev, old, q, dst_mr, dst, len) &&
	       reg_check_all(dst, len, 13),
	       "remap: the old MR still has the pages it registered");
	if (mr)
		ibv_dereg_mr(mr);
	if (old)
		ibv_dereg_mr(old);
	munmap(q, len);
}

/* ---------------------------------------------------------------- hooks */

static void test_hooks(void)
{
#ifdef __SANITIZE_ADDRESS__
	printf("SKIP hooks: an ASan build intercepts mmap itself\n");
#else
	size_t len = 4 * MiB;
	struct ibv_mr *mr;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	reg_fill(p, len, 21);
	atomic_store(&hooked, 0);
	atomic_store(&watch_hi, (uintptr_t)p + len);
	atomic_store(&watch_lo, (uintptr_t)p);
	mr = reg(p, len);
	if (mr)
		ibv_dereg_mr(mr);
	mr = reg(p, len);
	atomic_store(&watch_lo, 0);
	result(mr && !atomic_load(&hooked),
	       "hooks: registering fresh private memory calls no libc "
	       "mmap/munmap/mremap/madvise over it (%d calls)",
	       atomic_load(&hooked));
	if (mr)
		ibv_dereg_mr(mr);
	munmap(p, len);
#endif
}

/* --------------------------------------------------------------- unpriv */

static void test_unpriv(void)
{
	one_kind(RK_SYSV, 4 * MiB, true);
	one_kind(RK_PRIVATE, 4 * MiB, true);
	one_kind(RK_SHMFILE, 4 * MiB, true);
	one_kind(RK_MEMFD, 4 * MiB, true);
	one_kind(RK_SHARED, 4 * MiB, false);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (reg_open(&dev))
		return 1;
	dst = mmap(NULL, DST_LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst_mr = dst != MAP_FAILED ? reg(dst, DST_LEN) : NULL;
	if (!dst_mr) {
		printf("FAIL cannot register the destination buffer\n");
		return 1;
	}
	if (!strcmp(what, "unpriv")) {
		test_unpriv();
	} else {
		test_kinds();
		test_threads();
		test_again();
		test_remap();
		test_hooks();
	}
	ibv_dereg_mr(dst_mr);
	reg_close(&dev);
	return check_summary();
}
