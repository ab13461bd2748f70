// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The fake hypervisor of tests/common/fake_xen.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "xenibd/dev/dev.h"
#include "xenibd/transport/xen/xen.h"

#include "tests/common/fake_xen.h"

static int gfd = -1;
static char *gmem;		/* the guest's view of its memory */
struct fx_counts fx;

static int fake_map(uint32_t domid, const uint32_t *refs, uint32_t n,
		    void *at, bool writable, struct hvx_gmap *gm)
{
	char *base = at;
	uint32_t i;

	if (!n)
		return EINVAL;
	for (i = 0; i < n; i++)
		if (!refs[i] || refs[i] > FX_PAGES)
			return EFAULT;
	if (!base) {
		base = mmap(NULL, (size_t)n * 4096, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			return ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (mmap(base + (size_t)i * 4096, 4096,
			 PROT_READ | (writable ? PROT_WRITE : 0),
			 MAP_SHARED | MAP_FIXED, gfd,
			 (off_t)(refs[i] - 1) * 4096) == MAP_FAILED)
			return errno;
	gm->va = base;
	gm->len = (size_t)n * 4096;
	gm->index = 0;
	fx.map++;
	return 0;
}

static void fake_unmap(struct hvx_gmap *gm, bool keep)
{
	if (keep)
		mmap(gm->va, gm->len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	else
		munmap(gm->va, gm->len);
	gm->va = NULL;
	fx.unmap++;
}

static int fake_unmap_notify(const struct hvx_gmap *gm, uint32_t off,
			     uint32_t port)
{
	return off < gm->len ? 0 : EINVAL;
}

static int fake_unmap_notify_disarm(const struct hvx_gmap *gm, uint32_t off)
{
	fx.disarm++;
	return off < gm->len ? 0 : EINVAL;
}

static int fake_bind(uint32_t domid, uint32_t port)
{
	if (port == FX_BAD_PORT)
		return -EINVAL;
	fx.bind++;
	return port + 1000;
}

static int fake_notify(uint32_t port)
{
	fx.notify++;
	return 0;
}

static void fake_unbind(uint32_t port)
{
	fx.unbind++;
}

static int fake_pending(void)
{
	return -1;
}

static void fake_unmask(uint32_t port)
{
}

/* ------------------------------------------------------------------ */
/* xenstore: a flat list of (path, value); directories are prefixes.    */

struct fx_node {
	char *path, *val;
	struct fx_node *next;
};

struct fx_watch {
	char *path, *token;
	struct fx_watch *next;
};

static struct fx_node *nodes;
static struct fx_watch *watches;
static char *fired[64][2];	/* queued (path, token) events */
static unsigned int nfired;

static struct fx_node **node_find(const char *path)
{
	struct fx_node **n;

	for (n = &nodes; *n; n = &(*n)->next)
		if (!strcmp((*n)->path, path))
			return n;
	return NULL;
}

/* Is path at or below dir? */
static bool below(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	return !strncmp(path, dir, l) && (!path[l] || path[l] == '/');
}

static void fire(const char *path)
{
	struct fx_watch *w;

	for (w = watches; w; w = w->next)
		if (below(path, w->path) && nfired < 64) {
			fired[nfired][0] = strdup(path);
			fired[nfired][1] = strdup(w->token);
			nfired++;
		}
}

int fx_xs_write(const char *path, const char *val)
{
	struct fx_node **n = node_find(path), *nn;

	if (n) {
		free((*n)->val);
		(*n)->val = strdup(val);
	} else {
		nn = calloc(1, sizeof(*nn));
		nn->path = strdup(path);
		nn->val = strdup(val);
		nn->next = nodes;
		nodes = nn;
	}
	fire(path);
	fx.xs_writes++;
	return 0;
}

const char *fx_xs_get(const char *path)
{
	struct fx_node **n = node_find(path);

	return n ? (*n)->val : NULL;
}

void fx_xs_rm(const char *path)
{
	struct fx_node **n = &nodes;

	while (*n) {
		if (below((*n)->path, path)) {
			struct fx_node *d = *n;

			*n = d->next;
			free(d->path);
			free(d->val);
			free(d);
		} else {
			n = &(*n)->next;
		}
	}
	fire(path);
}

/* dir/ctx/k/leaf, in a static buffer. */
static const char *ctx_path(const char *dir, uint32_t k, const char *leaf)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/ctx/%u/%s", dir, k, leaf);
	return path;
}

int fx_ctx_write(const char *dir, uint32_t k, const char *leaf,
		 const char *val)
{
	return fx_xs_write(ctx_path(dir, k, leaf), val);
}

const char *fx_ctx_get(const char *dir, uint32_t k, const char *leaf)
{
	return fx_xs_get(ctx_path(dir, k, leaf));
}

static char *fake_xs_read(xs_transaction_t t, const char *path, size_t max)
{
	const char *v = fx_xs_get(path);

	fx.xs_reads++;
	return v && strlen(v) <= max ? strdup(v) : NULL;
}

static int fake_xs_write(xs_transaction_t t, const char *path,
			 const char *val)
{
	return fx_xs_write(path, val);
}

static int fake_xs_rm(xs_transaction_t t, const char *path)
{
	fx_xs_rm(path);
	return 0;
}

static int fake_xs_mkdir_perms(xs_transaction_t t, const char *path,
			       uint32_t owner, uint32_t reader)
{
	if (!fx_xs_get(path))
		fx_xs_write(path, "");
	return 0;
}

/* The distinct next components below path. */
static char **fake_xs_directory(xs_transaction_t t, const char *path,
				unsigned int *n)
{
	size_t l = strlen(path), cap = 16;
	char **out = calloc(cap, sizeof(*out));
	struct fx_node *nd;
	unsigned int i;

	fx.xs_dirs++;
	*n = 0;
	for (nd = nodes; nd && out; nd = nd->next) {
		const char *c;
		size_t cl;

		if (strncmp(nd->path, path, l) || nd->path[l] != '/')
			continue;
		c = nd->path + l + 1;
		cl = strcspn(c, "/");
		for (i = 0; i < *n; i++)
			if (strlen(out[i]) == cl && !strncmp(out[i], c, cl))
				break;
		if (i < *n)
			continue;
		if (*n == cap)
			out = realloc(out, (cap *= 2) * sizeof(*out));
		out[(*n)++] = strndup(c, cl);
	}
	if (!*n) {
		free(out);
		return NULL;
	}
	/* One block, as libxenstore returns it: strings after the array. */
	{
		size_t sz = *n * sizeof(char *), off;
		char **blk;

		for (i = 0; i < *n; i++)
			sz += strlen(out[i]) + 1;
		blk = malloc(sz);
		off = *n * sizeof(char *);
		for (i = 0; i < *n; i++) {
			blk[i] = (char *)blk + off;
			strcpy(blk[i], out[i]);
			off += strlen(out[i]) + 1;
			free(out[i]);
		}
		free(out);
		return blk;
	}
}

static xs_transaction_t fake_xs_start(void)
{
	return 1;
}

static bool fake_xs_end(xs_transaction_t t, bool abort)
{
	return true;
}

static bool fake_xs_watch(const char *path, const char *token)
{
	struct fx_watch *w = calloc(1, sizeof(*w));

	w->path = strdup(path);
	w->token = strdup(token);
	w->next = watches;
	watches = w;
	fired[nfired][0] = strdup(path);	/* a new watch fires once */
	fired[nfired][1] = strdup(token);
	nfired += nfired < 63;
	return true;
}

static bool fake_xs_unwatch(const char *path, const char *token)
{
	struct fx_watch **w;

	for (w = &watches; *w; w = &(*w)->next)
		if (!strcmp((*w)->path, path) && !strcmp((*w)->token, token)) {
			struct fx_watch *d = *w;

			*w = d->next;
			free(d->path);
			free(d->token);
			free(d);
			return true;
		}
	return false;
}

/* As libxenstore: one malloc'd block, XS_WATCH_PATH and XS_WATCH_TOKEN. */
static char **fake_xs_check_watch(void)
{
	size_t pl, tl;
	char **w;

	if (!nfired)
		return NULL;
	pl = strlen(fired[0][0]) + 1;
	tl = strlen(fired[0][1]) + 1;
	w = malloc(2 * sizeof(char *) + pl + tl);
	w[XS_WATCH_PATH] = (char *)(w + 2);
	w[XS_WATCH_TOKEN] = w[XS_WATCH_PATH] + pl;
	memcpy(w[XS_WATCH_PATH], fired[0][0], pl);
	memcpy(w[XS_WATCH_TOKEN], fired[0][1], tl);
	free(fired[0][0]);
	free(fired[0][1]);
	memmove(fired, fired + 1, --nfired * sizeof(fired[0]));
	return w;
}

struct hvx_dominfo fx_dominfo[FX_DOMAINS];

static int fake_domain_info(uint32_t domid, struct hvx_dominfo *info)
{
	if (domid >= FX_DOMAINS)
		return EINVAL;
	*info = fx_dominfo[domid];
	return 0;
}

static const struct xd_hv_ops fake_ops = {
	.map = fake_map, .unmap = fake_unmap,
	.unmap_notify = fake_unmap_notify,
	.unmap_notify_disarm = fake_unmap_notify_disarm, .bind = fake_bind,
	.notify = fake_notify, .unbind = fake_unbind,
	.pending = fake_pending, .unmask = fake_unmask,
	.xs_read = fake_xs_read, .xs_write = fake_xs_write,
	.xs_rm = fake_xs_rm, .xs_mkdir_perms = fake_xs_mkdir_perms,
	.xs_directory = fake_xs_directory, .xs_start = fake_xs_start,
	.xs_end = fake_xs_end, .xs_watch = fake_xs_watch,
	.xs_unwatch = fake_xs_unwatch, .xs_check_watch = fake_xs_check_watch,
	.domain_info = fake_domain_info,
};

void *fx_page(uint32_t r)
{
	return gmem + (size_t)(r - 1) * 4096;
}

void fx_make_dir(uint32_t dir, uint32_t list, uint32_t first,
		 uint32_t npages)
{
	uint32_t nlist = (npages + 1023) / 1024, i;
	uint32_t *d = fx_page(dir);

	memset(d, 0, 4096);
	for (i = 0; i < nlist; i++)
		d[i] = list + i;
	for (i = 0; i < npages; i++)
		((uint32_t *)fx_page(list + i / 1024))[i % 1024] = first + i;
}

int fx_init(void)
{
	gfd = memfd_create("xenib-fake-guest", MFD_CLOEXEC);
	if (gfd < 0 || ftruncate(gfd, (off_t)FX_PAGES * 4096))
		return -1;
	gmem = mmap(NULL, (size_t)FX_PAGES * 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED, gfd, 0);
	if (gmem == MAP_FAILED)
		return -1;
	xd_hv = &fake_ops;
	return 0;
}

int fx_unit_init(unsigned int max_guests)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xd_config_defaults(&xd.cfg);
	xd.cfg.max_guests = max_guests;
	if (xd_state_init())
		return -1;
	return fx_init();
}
