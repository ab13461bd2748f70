// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Registration cost against the cost of touching the same memory.
 *
 *   reg_curve [-d DEV] [-k KIND] [-r REPEATS] [-c] SIZE...
 *
 * For every size and repeat: map a fresh buffer of KIND, fill it (the
 * first touch: page faults and zeroing included, timed as "touch"), copy
 * it once into a second warm buffer (timed as "memcpy"), then time
 * ibv_reg_mr (LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ), ibv_dereg_mr, a
 * second ibv_reg_mr of the same range ("rereg": what a registration cache
 * that dropped the entry pays) and its dereg.  With -c every page is
 * checked after each registration (the contents must survive).
 *
 * One line per measurement, for bench/reg_curve.py:
 *   size kind rep touch_s memcpy_s reg_s dereg_s rereg_s reg_cpu_s
 * (wall-clock seconds; reg_cpu_s: CPU time this process spent in the first
 * ibv_reg_mr, which on a loaded machine says more than the wall clock).
 * KIND: private (anonymous private, the malloc case; default), shared
 * (anonymous MAP_SHARED), sysv, sysv-huge (SHM_HUGETLB), shmfile
 * (a file in /dev/shm), thp (private, MADV_HUGEPAGE), hugetlb (private,
 * MAP_HUGETLB).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <infiniband/verbs.h>

#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ)

static double clk(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void)
{
	return clk(CLOCK_MONOTONIC);
}

struct buf {
	void *va;
	size_t len;
	int shmid;
	char path[64];
};

static int buf_map(struct buf *b, const char *kind, size_t len)
{
	int fd;

	b->len = len;
	b->shmid = -1;
	b->path[0] = 0;
	if (!strcmp(kind, "private") || !strcmp(kind, "thp")) {
		b->va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->va == MAP_FAILED)
			return errno;
		if (!strcmp(kind, "thp"))
			madvise(b->va, len, MADV_HUGEPAGE);
		return 0;
	}
	if (!strcmp(kind, "hugetlb")) {
		b->va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		return b->va == MAP_FAILED ? errno : 0;
	}
	if (!strcmp(kind, "shared")) {
		b->va = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		return b->va == MAP_FAILED ? errno : 0;
	}
	if (!strcmp(kind, "sysv") || !strcmp(kind, "sysv-huge")) {
		int flags = IPC_CREAT | 0600;

		if (!strcmp(kind, "sysv-huge"))
			flags |= SHM_HUGETLB;
		b->shmid = shmget(IPC_PRIVATE, len, flags);
		if (b->shmid < 0)
			return errno;
		b->va = shmat(b->shmid, NULL, 0);
		/* Gone with the last detach, as UCX's allocator does. */
		shmctl(b->shmid, IPC_RMID, NULL);
		return b->va == (void *)-1 ? errno : 0;
	}
	if (!strcmp(kind, "shmfile")) {
		snprintf(b->path, sizeof(b->path), "/dev/shm/reg_curve.%d",
			 (int)getpid());
		fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			return errno;
		if (ftruncate(fd, len)) {
			close(fd);
			return errno;
		}
		b->va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			     fd, 0);
		close(fd);
		return b->va == MAP_FAILED ? errno : 0;
	}
	return EINVAL;
}

static void buf_unmap(struct buf *b)
{
	if (b->shmid >= 0)
		shmdt(b->va);
	else
		munmap(b->va, b->len);
	if (b->path[0])
		unlink(b->path);
}

static void fill(uint64_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = seed ^ (i * 0x9e3779b97f4a7c15ull);
}

/* One word per 512 is enough to see a lost or zeroed page. */
static bool check(const uint64_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len / 8; i += 512)
		if (p[i] != (seed ^ (i * 0x9e3779b97f4a7c15ull)))
			return false;
	return true;
}

static struct ibv_mr *reg(struct ibv_pd *pd, struct buf *b, double *t)
{
	double t0 = now();
	struct ibv_mr *mr = ibv_reg_mr(pd, b->va, b->len, ACCESS);

	*t = now() - t0;
	if (!mr)
		fprintf(stderr, "reg_curve: ibv_reg_mr(%zu): %s\n", b->len,
			strerror(errno));
	return mr;
}

static double dereg(struct ibv_mr *mr)
{
	double t0 = now();

	if (ibv_dereg_mr(mr))
		fprintf(stderr, "reg_curve: ibv_dereg_mr failed\n");
	return now() - t0;
}

static void flush(struct ibv_pd *pd)
{
	static char page[4096] __attribute__((aligned(4096)));
	struct ibv_mr *mr = ibv_reg_mr(pd, page, sizeof(page), ACCESS);

	if (mr)
		ibv_dereg_mr(mr);
}

static int one(struct ibv_pd *pd, const char *kind, size_t len, int rep,
	       bool verify)
{
	struct buf b, w;
	double t_touch, t_copy, t_reg, t_dereg, t_rereg, t_dereg2, t0, c0, c_reg;
	uint64_t seed = 0x1234567ull * (rep + 1) + len;
	struct ibv_mr *mr;
	int err;

	err = buf_map(&b, kind, len);
	if (err) {
		fprintf(stderr, "reg_curve: cannot map %zu bytes of %s: %s\n",
			len, kind, strerror(err));
		return 1;
	}
	w.va = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (w.va == MAP_FAILED) {
		buf_unmap(&b);
		return 1;
	}
	t0 = now();
	fill(b.va, len, seed);
	t_touch = now() - t0;
	memset(w.va, 0, len);
	t0 = now();
	memcpy(w.va, b.va, len);
	__asm__ volatile("" : : "r"(w.va) : "memory");
	t_copy = now() - t0;
	munmap(w.va, len);

	c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
	mr = reg(pd, &b, &t_reg);
	c_reg = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (!mr)
		goto fail;
	if (verify && !check(b.va, len, seed)) {
		fprintf(stderr, "reg_curve: contents changed by ibv_reg_mr\n");
		goto fail;
	}
	t_dereg = dereg(mr);
	mr = reg(pd, &b, &t_rereg);
	if (!mr)
		goto fail;
	if (verify && !check(b.va, len, seed)) {
		fprintf(stderr, "reg_curve: contents changed by re-reg\n");
		goto fail;
	}
	t_dereg2 = dereg(mr);
	(void)t_dereg2;
	buf_unmap(&b);
	/*
	 * The provider lets go of memory it kept shared for re-registration
	 * once it sees it unmapped, at its next registration: do that one
	 * now, untimed, so the next size does not pay for this one's pages.
	 */
	flush(pd);
	printf("%zu %s %d %.6f %.6f %.6f %.6f %.6f %.6f\n", len, kind, rep,
	       t_touch, t_copy, t_reg, t_dereg, t_rereg, c_reg);
	fflush(stdout);
	return 0;
fail:
	buf_unmap(&b);
	return 1;
}

int main(int argc, char **argv)
{
	const char *devname = "xenib0", *kind = "private";
	int repeats = 3, opt, n, i, j, k, rc = 0;
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd;
	bool verify = false;

	while ((opt = getopt(argc, argv, "d:k:r:c")) != -1) {
		switch (opt) {
		case 'd': devname = optarg; break;
		case 'k': kind = optarg; break;
		case 'r': repeats = atoi(optarg); break;
		case 'c': verify = true; break;
		default:
			fprintf(stderr, "usage: reg_curve [-d DEV] [-k KIND] "
				"[-r REPEATS] [-c] SIZE...\n");
			return 2;
		}
	}
	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), devname))
			ctx = ibv_open_device(list[i]);
	if (!ctx) {
		fprintf(stderr, "reg_curve: cannot open %s\n", devname);
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		return 1;
	/* Repeats interleave the sizes so drift hits them all alike. */
	for (k = 0; k < repeats; k++)
		for (j = optind; j < argc; j++)
			rc |= one(pd, kind, strtoull(argv[j], NULL, 0), k,
				  verify);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	ibv_free_device_list(list);
	return rc;
}
