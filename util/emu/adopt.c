// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Embedded emulation, guest side: making application memory reachable by
 * xenibd for registration (hv_shm_adopt, util/hv.h).
 *
 * Private memory (anonymous, heap, stack, private file pages) is re-backed
 * in place by a sealed memfd: the pages are copied into the memfd with
 * pwrite(), which fills fresh page-cache pages without zeroing them first,
 * and the memfd is mapped over them (MAP_FIXED | MAP_POPULATE), chunk by
 * chunk, so the pages each chunk frees are the ones the next one reuses
 * (memory use stays flat, and on a VM the host never has to fault in fresh
 * memory).  Its file offset keeps the address's position in a 2 MiB page
 * so that where shmem may use huge pages they can be mapped as such.
 *
 * Memory that is already shared is never re-backed (other processes would
 * stop seeing our writes): xenibd is handed the object itself, found from
 * /proc/self/map_files (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN), the
 * file's path, or a descriptor the process still holds; a SysV segment is
 * named by its id, which xenibd attaches after checking our right to.
 *
 * The memfds made here are remembered process-wide, so that another
 * context (or a later registration) sharing the same pages finds the object
 * instead of re-backing it behind the first one's back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "util/hv.h"
#include "util/list.h"
#include "util/maps.h"
#include "util/rawsys.h"

#define ADOPT_CHUNK	(1u << 20)	/* bytes copied and remapped per step */
#define HUGE_2M		(2u << 20)
#define MR_MEMFD	"xenib-mr"

/* A memfd made here, while some hv_shm uses it. */
struct backing {
	struct list_node link;
	uint64_t dev, ino;
	int fd;
	unsigned int refs;
};

static pthread_mutex_t backing_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_node backings = LIST_INIT(backings);

static uint64_t dev_of(dev_t d)
{
	return (uint64_t)major(d) << 32 | minor(d);
}

static struct backing *backing_find(uint64_t dev, uint64_t ino)
{
	struct list_node *pos;

	list_for_each(pos, &backings) {
		struct backing *b = list_entry(pos, struct backing, link);

		if (b->dev == dev && b->ino == ino)
			return b;
	}
	return NULL;
}

void hv_emu_backing_put(void *backing)
{
	struct backing *b = backing;

	if (!b)
		return;
	pthread_mutex_lock(&backing_lock);
	if (!--b->refs) {
		list_del(&b->link);
		close(b->fd);
		free(b);
	}
	pthread_mutex_unlock(&backing_lock);
}

/*
 * A new memfd of size bytes, sealed against shrinking and growing (xenibd
 * maps it; a shrunk memfd would fault it), remembered as a backing.
 * flags: MFD_HUGETLB and its page size, or 0.
 */
static struct backing *backing_new(size_t size, unsigned int flags)
{
	struct backing *b = calloc(1, sizeof(*b));
	struct stat st;

	if (!b)
		return NULL;
	b->fd = memfd_create(MR_MEMFD, MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);
	if (b->fd < 0)
		goto fail;
	if (ftruncate(b->fd, size) ||
	    fcntl(b->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) ||
	    fstat(b->fd, &st))
		goto fail;
	b->dev = dev_of(st.st_dev);
	b->ino = st.st_ino;
	b->refs = 1;
	pthread_mutex_lock(&backing_lock);
	list_add_tail(&backings, &b->link);
	pthread_mutex_unlock(&backing_lock);
	return b;
fail:
	{
		int err = errno;

		if (b->fd >= 0)
			close(b->fd);
		free(b);
		errno = err;
	}
	return NULL;
}

/* Write all of [src, src + len) at off; 0 or errno. */
static int copy_in(int fd, const char *src, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = raw_pwrite(fd, src, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		src += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool known(const struct hv_vma *v)
{
	bool k;

	pthread_mutex_lock(&backing_lock);
	k = backing_find(v->dev, v->ino) != NULL;
	pthread_mutex_unlock(&backing_lock);
	return k;
}

/*
 * Ours to re-back?  Private mappings, and memfds of ours nobody here uses
 * any more (inherited over fork, or let go): a copy keeps them private.
 */
static bool rebackable(const struct hv_vma *v)
{
	return !v->shared ||
	       (!strcmp(v->path, "/memfd:" MR_MEMFD) && !known(v));
}

/*
 * Re-back the run of private mappings m->v[i..] from start (at most to
 * end): copy each chunk into the new memfd, then map the memfd over it.
 */
static int reback(struct hv_shm *shm, const struct hv_maps *m, size_t i,
		  uintptr_t start, uintptr_t end)
{
	uintptr_t rend = start, cur;
	uint64_t base = start & (HUGE_2M - 1);
	struct backing *b;
	size_t j;
	int err = 0;

	for (j = i; j < m->n && m->v[j].lo <= rend && rend < end; j++) {
		const struct hv_vma *v = &m->v[j];

		if (!rebackable(v) ||
		    (j > i && !strcmp(v->path, "/anon_hugepage")))
			break;
		if (!(v->prot & PROT_READ))
			break;
		rend = v->hi < end ? v->hi : end;
	}
	if (rend == start)
		return EFAULT;
	b = backing_new(base + (rend - start), 0);
	if (!b)
		return errno;
	for (j = i, cur = start; cur < rend; j++) {
		const struct hv_vma *v = &m->v[j];
		uintptr_t hi = v->hi < rend ? v->hi : rend;

		while (cur < hi) {
			size_t n = hi - cur < ADOPT_CHUNK ? hi - cur : ADOPT_CHUNK;
			uint64_t off = base + (cur - start);

			err = copy_in(b->fd, (const char *)cur, n, off);
			if (err)
				goto out;
			if (raw_mmap((void *)cur, n, v->prot,
				     MAP_SHARED | MAP_FIXED | MAP_POPULATE,
				     b->fd, (off_t)off) == MAP_FAILED) {
				err = errno;
				goto out;
			}
			cur += n;
		}
	}
out:
	if (err) {
		/*
		 * What was re-backed keeps its contents (the memfd lives with
		 * the mapping); the rest is untouched.
		 */
		hv_emu_backing_put(b);
		return err;
	}
	shm->fd = dup(b->fd);
	if (shm->fd < 0) {
		err = errno;
		hv_emu_backing_put(b);
		return err;
	}
	shm->va = (void *)start;
	shm->len = rend - start;
	shm->offset = shm->vma_off = base;
	shm->backing = b;
	return 0;
}

/* Page size of the hugetlb mapping at lo (smaps), 0 if unknown. */
static size_t huge_page_size(uintptr_t lo)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[256];
	unsigned long a, b, kb;
	bool in = false;
	size_t ps = 0;

	if (!f)
		return 0;
	while (!ps && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') &&
		    strchr(line, ' ') > strchr(line, '-'))
			in = a == lo;
		else if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
			ps = (size_t)kb << 10;
	}
	fclose(f);
	return ps;
}

/*
 * Copy a huge page: hugetlbfs has no write(), so through a mapping.  With
 * ASan, by loads it does not check (the bytes around the application's
 * objects are redzones to it).
 */
#ifdef __SANITIZE_ADDRESS__
__attribute__((no_sanitize("address")))
static void copy_page(void *dst, const void *src, size_t len)
{
	volatile uint64_t *d = dst;
	const volatile uint64_t *s = src;
	size_t i;

	for (i = 0; i < len / 8; i++)
		d[i] = s[i];
}
#else
static void copy_page(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}
#endif

/*
 * Private hugetlb memory (MAP_HUGETLB): re-back it with a hugetlb memfd of
 * the same page size, one huge page at a time (the one freed is the next
 * one's), rounded out to whole pages.  ENOMEM: no huge page free.
 */
static int reback_huge(struct hv_shm *shm, const struct hv_vma *v,
		       uintptr_t start, uintptr_t end)
{
	size_t ps = huge_page_size(v->lo), shift = 0;
	uintptr_t lo, hi, cur;
	struct backing *b;
	int err = 0;

	if (ps < 2 * 4096 || (ps & (ps - 1)) || (v->lo | v->hi) & (ps - 1))
		return EINVAL;
	while ((1ul << shift) < ps)
		shift++;
	lo = start & ~(uintptr_t)(ps - 1);
	hi = (end + ps - 1) & ~(uintptr_t)(ps - 1);
	if (hi > v->hi)
		hi = v->hi;
	/* MFD_HUGE_SHIFT is MAP_HUGE_SHIFT (both HUGETLB_FLAG_ENCODE_SHIFT). */
	b = backing_new(hi - lo,
			MFD_HUGETLB | (unsigned int)(shift << MAP_HUGE_SHIFT));
	if (!b)
		return errno;
	for (cur = lo; cur < hi && !err; cur += ps) {
		void *tmp = raw_mmap(NULL, ps, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_POPULATE, b->fd,
				     (off_t)(cur - lo));

		if (tmp == MAP_FAILED) {
			err = errno;
			break;
		}
		copy_page(tmp, (const void *)cur, ps);
		raw_munmap(tmp, ps);
		if (raw_mmap((void *)cur, ps, v->prot,
			     MAP_SHARED | MAP_FIXED | MAP_POPULATE, b->fd,
			     (off_t)(cur - lo)) == MAP_FAILED)
			err = errno;
	}
	if (!err) {
		shm->fd = dup(b->fd);
		if (shm->fd < 0)
			err = errno;
	}
	if (err) {
		hv_emu_backing_put(b);
		return err;
	}
	shm->va = (void *)lo;
	shm->len = hi - lo;
	shm->offset = shm->vma_off = 0;
	shm->backing = b;
	return 0;
}

static bool same_object(int fd, const struct hv_vma *v)
{
	struct stat st;

	return !fstat(fd, &st) && dev_of(st.st_dev) == v->dev &&
	       st.st_ino == v->ino && S_ISREG(st.st_mode);
}

/* A descriptor of this process open on v's object, reopened read-write. */
static int fd_scan(const struct hv_vma *v)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300];
	int fd = -1;

	if (!d)
		return -1;
	while (fd < 0 && (de = readdir(d))) {
		struct stat st;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if (de->d_name[0] == '.' || stat(path, &st) ||
		    dev_of(st.st_dev) != v->dev || st.st_ino != v->ino)
			continue;
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && !same_object(fd, v)) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	return fd;
}

/* Open the object behind shared mapping v; fd or -errno. */
static int object_open(const struct hv_vma *v)
{
	char path[80];
	int fd, err = EINVAL;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)v->lo, (unsigned long)v->hi);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && same_object(fd, v))
		return fd;
	if (fd >= 0)
		close(fd);
	else if (errno == EACCES)
		err = EACCES;		/* mapped, but not writable for us */
	if (!v->deleted && v->path[0] == '/') {
		fd = open(v->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && same_object(fd, v))
			return fd;
		if (fd >= 0)
			close(fd);
		else if (errno == EACCES)
			err = EACCES;
	}
	fd = fd_scan(v);
	return fd >= 0 ? fd : -err;
}

static bool is_sysv(const struct hv_vma *v)
{
	return !strncmp(v->path, "/SYSV", 5) && v->deleted;
}

/*
 * Memory already shared: name the object of m->v[i] for the run of
 * mappings that continue it (same object, contiguous offsets).
 */
static int name_object(struct hv_shm *shm, const struct hv_maps *m, size_t i,
		       uintptr_t start, uintptr_t end)
{
	const struct hv_vma *v = &m->v[i];
	uint64_t off = v->off + (start - v->lo);
	uintptr_t rend = v->hi < end ? v->hi : end;
	struct statfs sfs;
	struct backing *b;
	size_t j;
	int fd;

	for (j = i + 1; j < m->n && rend < end; j++) {
		const struct hv_vma *w = &m->v[j];

		if (w->lo != rend || !w->shared || w->dev != v->dev ||
		    w->ino != v->ino || w->off != off + (w->lo - start) ||
		    !(w->prot & PROT_READ))
			break;
		rend = w->hi < end ? w->hi : end;
	}
	pthread_mutex_lock(&backing_lock);
	b = backing_find(v->dev, v->ino);
	if (b) {
		b->refs++;
		fd = dup(b->fd);
	}
	pthread_mutex_unlock(&backing_lock);
	if (b) {
		if (fd < 0) {
			int err = errno;

			hv_emu_backing_put(b);
			return err;
		}
		shm->backing = b;
		goto found;
	}
	fd = object_open(v);
	if (fd < 0 && is_sysv(v) && v->ino <= INT32_MAX) {
		/* xenibd attaches the segment itself (and checks our right). */
		shm->shmid = (int)v->ino;
		goto found;
	}
	if (fd < 0)
		return -fd;
	if (fstatfs(fd, &sfs) ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC)) {
		close(fd);
		return EINVAL;		/* a disk file: not memory */
	}
	if (sfs.f_type == HUGETLBFS_MAGIC && sfs.f_bsize > 4096) {
		/* xenibd maps huge pages whole: round out to them. */
		uint64_t hmask = (uint64_t)sfs.f_bsize - 1;
		uint64_t lo_off = off & ~hmask;

		rend = (uintptr_t)((rend + hmask) & ~hmask);
		start -= (uintptr_t)(off - lo_off);
		off = lo_off;
		if (start < v->lo || rend > m->v[j - 1].hi) {
			close(fd);
			return EINVAL;
		}
	}
found:
	shm->fd = fd;
	shm->va = (void *)start;
	shm->len = rend - start;
	shm->offset = shm->vma_off = off;
	return 0;
}

int hv_shm_adopt(struct hv_shm *shm, void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end = start + len;
	struct hv_maps m;
	const struct hv_vma *v;
	size_t i;
	int err;

	shm->fd = -1;
	shm->shmid = -1;
	shm->offset = shm->vma_off = 0;
	shm->backing = NULL;
	shm->priv = NULL;
	if ((start | len) & 4095u || !len || end < start)
		return EINVAL;
	err = hv_maps_read(&m, start, end);
	if (err)
		return err;
	i = hv_maps_find(&m, start);
	v = i < m.n ? &m.v[i] : NULL;
	if (!v || v->lo > start || !(v->prot & PROT_READ))
		err = EFAULT;
	else if (!v->shared && !strcmp(v->path, "/anon_hugepage") &&
		 (err = reback_huge(shm, v, start, end)) != ENOMEM)
		;	/* done, or failed for good (ENOMEM: 4 KiB pages) */
	else if (rebackable(v))
		err = reback(shm, &m, i, start, end);
	else
		err = name_object(shm, &m, i, start, end);
	hv_maps_free(&m);
	return err;
}
