// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* /proc/self/maps, parsed: see util/maps.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/maps.h"

#define DELETED " (deleted)"

static bool hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0;

	for (;; s++, n++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			break;
		if (n == 16)
			return false;
		x = x << 4 | d;
	}
	*p = s;
	*v = x;
	return n > 0;
}

static bool dec(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (n == 20)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return n > 0;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * "lo-hi perms offset major:minor inode   path": the line is NUL
 * terminated and ours to cut the path out of.
 */
static bool parse_line(char *line, struct hv_vma *v)
{
	const char *p = line;
	uint64_t lo, hi, maj, min;
	size_t plen;
	char *path;

	if (!hex(&p, &lo) || !expect(&p, '-') || !hex(&p, &hi) ||
	    !expect(&p, ' ') || strlen(p) < 5)
		return false;
	v->prot = (p[0] == 'r' ? PROT_READ : 0) |
		  (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	v->shared = p[3] == 's';
	p += 4;
	if (!expect(&p, ' ') || !hex(&p, &v->off) || !expect(&p, ' ') ||
	    !hex(&p, &maj) || !expect(&p, ':') || !hex(&p, &min) ||
	    !expect(&p, ' ') || !dec(&p, &v->ino))
		return false;
	while (*p == ' ')
		p++;
	path = (char *)p;
	plen = strlen(path);
	v->deleted = plen >= sizeof(DELETED) - 1 &&
		     !strcmp(path + plen - (sizeof(DELETED) - 1), DELETED);
	if (v->deleted)
		path[plen - (sizeof(DELETED) - 1)] = 0;
	v->lo = lo;
	v->hi = hi;
	v->dev = maj << 32 | min;
	v->path = path;
	return lo < hi;
}

/* Read the file up to the first line that starts at or past hi. */
static char *slurp(const char *file, uintptr_t hi, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap), *nb;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (!buf || fd < 0)
		goto fail;
	for (;;) {
		char *last;
		uint64_t start;
		const char *p;

		if (cap - n < 4096) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		do {
			r = read(fd, buf + n, cap - n - 1);
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			goto fail;
		if (!r)
			break;
		n += (size_t)r;
		buf[n] = 0;
		/* The kernel hands out whole lines: is the last one past hi? */
		last = n > 1 ? memrchr(buf, '\n', n - 1) : NULL;
		p = last ? last + 1 : buf;
		if (hex(&p, &start) && start >= hi)
			break;
	}
	close(fd);
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

int hv_maps_read(struct hv_maps *m, uintptr_t lo, uintptr_t hi)
{
	return hv_maps_read_pid(m, 0, lo, hi);
}

int hv_maps_read_pid(struct hv_maps *m, int pid, uintptr_t lo, uintptr_t hi)
{
	size_t len, cap = 64;
	char *line, *next, file[40];

	memset(m, 0, sizeof(*m));
	if (pid)
		snprintf(file, sizeof(file), "/proc/%d/maps", pid);
	else
		snprintf(file, sizeof(file), "/proc/self/maps");
	m->text = slurp(file, hi, &len);
	m->v = malloc(cap * sizeof(*m->v));
	if (!m->text || !m->v) {
		hv_maps_free(m);
		return ENOMEM;
	}
	for (line = m->text; line && *line; line = next) {
		struct hv_vma v;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!parse_line(line, &v))
			continue;
		if (v.hi <= lo)
			continue;
		if (v.lo >= hi)
			break;
		/* Pieces read across a change may repeat: keep them sorted. */
		if (m->n && v.lo < m->v[m->n - 1].hi)
			continue;
		if (m->n == cap) {
			struct hv_vma *nv = realloc(m->v, 2 * cap * sizeof(*nv));

			if (!nv) {
				hv_maps_free(m);
				return ENOMEM;
			}
			m->v = nv;
			cap *= 2;
		}
		m->v[m->n++] = v;
	}
	return 0;
}

void hv_maps_free(struct hv_maps *m)
{
	free(m->v);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

size_t hv_maps_find(const struct hv_maps *m, uintptr_t addr)
{
	size_t a = 0, b = m->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (m->v[mid].hi <= addr)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

bool hv_maps_backs(const struct hv_maps *m, uintptr_t lo, uintptr_t hi,
		   uint64_t dev, uint64_t ino, uint64_t off)
{
	size_t i = hv_maps_find(m, lo);
	uintptr_t cur = lo;

	for (; cur < hi; i++) {
		const struct hv_vma *v = &m->v[i];

		if (i == m->n || v->lo > cur || !v->shared || v->dev != dev ||
		    v->ino != ino || v->off + (cur - v->lo) != off + (cur - lo))
			return false;
		cur = v->hi;
	}
	return true;
}
