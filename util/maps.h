/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process's own mappings, read from /proc/self/maps: what registration
 * needs to know about a range (private or shared, which object backs it at
 * which offset) and to tell whether memory it shared earlier is still
 * mapped where it was.
 */
#ifndef XENIB_MAPS_H
#define XENIB_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_vma {
	uintptr_t lo, hi;	/* [lo, hi), page aligned */
	uint64_t off;		/* offset of lo in the mapped object */
	uint64_t dev;		/* major << 32 | minor, 0 for anonymous */
	uint64_t ino;		/* SysV shm: the shmid */
	int prot;		/* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;		/* MAP_SHARED */
	bool deleted;		/* path ends in " (deleted)" (removed from it) */
	const char *path;	/* "" when anonymous; " (deleted)" stripped */
};

struct hv_maps {
	struct hv_vma *v;	/* sorted by lo, no overlaps */
	size_t n;
	char *text;		/* the paths point into it */
};

/*
 * The mappings that overlap [lo, hi) (stops reading past hi).  The kernel
 * produces the file in pieces, so a mapping changed by another thread
 * meanwhile may be missing or stale; entries stay sorted.  0 or errno.
 */
int hv_maps_read(struct hv_maps *m, uintptr_t lo, uintptr_t hi);
/* The same of another process (pid 0: ourselves); errno ENOENT/EACCES. */
int hv_maps_read_pid(struct hv_maps *m, int pid, uintptr_t lo, uintptr_t hi);
void hv_maps_free(struct hv_maps *m);

/* Index of the first entry with hi > addr, or m->n. */
size_t hv_maps_find(const struct hv_maps *m, uintptr_t addr);

/*
 * Is every page of [lo, hi) mapped shared from the object (dev, ino), at
 * offset off for lo and contiguously after it?
 */
bool hv_maps_backs(const struct hv_maps *m, uintptr_t lo, uintptr_t hi,
		   uint64_t dev, uint64_t ino, uint64_t off);

#endif /* XENIB_MAPS_H */
