// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Real Xen, backend (dom0) side: see util/hv_xen_backend.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xen/sys/gntdev.h>

#include "util/hv_xen_backend.h"

#define HVX_PAGE		4096u
#define HVX_GNTDEV		"/dev/xen/gntdev"
#define HVX_GNTDEV_LIMIT	"/sys/module/xen_gntdev/parameters/limit"
/* Pages per MAP_GRANT_REF request: under the driver's default 64K limit. */
#define HVX_CHUNK_MAX		16384u

static int gnt_fd = -1;
static uint32_t gnt_chunk = HVX_CHUNK_MAX;
static xenevtchn_handle *xce;
static struct xs_handle *xsh;
static xc_interface *xch;

/* ------------------------------------------------------------------ */

bool hvx_is_dom0(void)
{
	FILE *f = fopen("/proc/xen/capabilities", "re");
	char buf[256] = "";
	bool ctl;

	if (!f)
		return false;
	ctl = fgets(buf, sizeof(buf), f) && strstr(buf, "control_d");
	fclose(f);
	return ctl && !access(HVX_GNTDEV, F_OK);
}

static void read_chunk_limit(void)
{
	FILE *f = fopen(HVX_GNTDEV_LIMIT, "re");
	unsigned int v;

	gnt_chunk = HVX_CHUNK_MAX;
	if (!f)
		return;
	if (fscanf(f, "%u", &v) == 1 && v && v < gnt_chunk)
		gnt_chunk = v;
	fclose(f);
}

int hvx_open(void)
{
	int err, fl;

	gnt_fd = open(HVX_GNTDEV, O_RDWR | O_CLOEXEC);
	if (gnt_fd < 0)
		return errno;
	read_chunk_limit();
	xce = xenevtchn_open(NULL, 0);
	if (!xce)
		goto fail;
	fl = fcntl(xenevtchn_fd(xce), F_GETFL);
	if (fl < 0 || fcntl(xenevtchn_fd(xce), F_SETFL, fl | O_NONBLOCK))
		goto fail;
	xsh = xs_open(0);
	if (!xsh)
		goto fail;
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xch)
		goto fail;
	return 0;
fail:
	err = errno ? errno : EIO;
	hvx_close();
	return err;
}

void hvx_close(void)
{
	if (xch)
		xc_interface_close(xch);
	if (xsh)
		xs_close(xsh);
	if (xce)
		xenevtchn_close(xce);
	if (gnt_fd >= 0)
		close(gnt_fd);
	xch = NULL;
	xsh = NULL;
	xce = NULL;
	gnt_fd = -1;
}

uint32_t hvx_self_domid(void)
{
	char *s = hvx_xs_read(XBT_NULL, "domid", 16);
	uint32_t d = 0;

	if (s && hvx_parse_u32(s, 0x7fef, &d))
		d = 0;
	free(s);
	return d;
}

/* ------------------------------------------------------------------ */

uint32_t hvx_gnt_chunk(void)
{
	return gnt_chunk;
}

static void placeholder(void *va, size_t len)
{
	/* Replaces whatever is there; cannot fail for a range we own. */
	mmap(va, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
	     MAP_NORESERVE, -1, 0);
}

/*
 * Unmap the first npages of a mapping made by hvx_gnt_map: chunk i covers
 * pages [i * chunk, (i + 1) * chunk).  The gntdev index of each chunk is
 * asked from the driver, so nothing else has to be remembered.
 */
static void unmap_pages(char *base, uint32_t npages, bool keep)
{
	uint32_t done, c;

	for (done = 0; done < npages; done += c) {
		struct ioctl_gntdev_get_offset_for_vaddr q = {
			.vaddr = (uintptr_t)(base + (size_t)done * HVX_PAGE),
		};
		struct ioctl_gntdev_unmap_grant_ref u;
		void *va = base + (size_t)done * HVX_PAGE;

		c = npages - done < gnt_chunk ? npages - done : gnt_chunk;
		if (gnt_fd < 0 ||
		    ioctl(gnt_fd, IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR, &q) ||
		    q.count != c)
			continue;	/* not a mapping of ours (failed map) */
		if (keep)
			placeholder(va, (size_t)c * HVX_PAGE);
		else
			munmap(va, (size_t)c * HVX_PAGE);
		u.index = q.offset;
		u.count = c;
		u.pad = 0;
		ioctl(gnt_fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &u);
	}
}

int hvx_gnt_map(uint32_t domid, const uint32_t *refs, uint32_t n, void *at,
		bool writable, struct hvx_gmap *gm)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	struct ioctl_gntdev_map_grant_ref *op;
	size_t len = (size_t)n * HVX_PAGE;
	uint32_t done, c, i;
	char *base;
	int err = 0;

	if (!n || gnt_fd < 0)
		return EINVAL;
	if (at) {
		base = at;
	} else {
		base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			    MAP_NORESERVE, -1, 0);
		if (base == MAP_FAILED)
			return ENOMEM;
	}
	op = malloc(sizeof(*op) + (size_t)gnt_chunk * sizeof(op->refs[0]));
	if (!op) {
		err = ENOMEM;
		goto fail;
	}
	for (done = 0; done < n; done += c) {
		void *va;

		c = n - done < gnt_chunk ? n - done : gnt_chunk;
		memset(op, 0, sizeof(*op));
		op->count = c;
		for (i = 0; i < c; i++) {
			op->refs[i].domid = domid;
			op->refs[i].ref = refs[done + i];
		}
		if (ioctl(gnt_fd, IOCTL_GNTDEV_MAP_GRANT_REF, op)) {
			err = errno == EFAULT ? EFAULT : ENOMEM;
			break;
		}
		/* The grant map operation happens here: bad refs fail now. */
		va = mmap(base + (size_t)done * HVX_PAGE, (size_t)c * HVX_PAGE,
			  prot, MAP_SHARED | MAP_FIXED, gnt_fd, op->index);
		if (va == MAP_FAILED) {
			struct ioctl_gntdev_unmap_grant_ref u = {
				.index = op->index, .count = c,
			};

			err = errno == ENOMEM ? ENOMEM : EFAULT;
			ioctl(gnt_fd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &u);
			/* A failed MAP_FIXED may leave a hole: fill it. */
			placeholder(base + (size_t)done * HVX_PAGE,
				    (size_t)c * HVX_PAGE);
			break;
		}
		if (!done)
			gm->index = op->index;
	}
	free(op);
	if (!err) {
		gm->va = base;
		gm->len = len;
		return 0;
	}
	unmap_pages(base, done, true);
fail:
	if (!at)
		munmap(base, len);
	return err;
}

void hvx_gnt_unmap(struct hvx_gmap *gm, bool keep_reserved)
{
	if (!gm->va)
		return;
	unmap_pages(gm->va, gm->len / HVX_PAGE, keep_reserved);
	if (!keep_reserved)
		munmap(gm->va, gm->len);	/* placeholders of failed parts */
	gm->va = NULL;
	gm->len = 0;
}

int hvx_gnt_unmap_notify(const struct hvx_gmap *gm, uint32_t off,
			 uint32_t port)
{
	struct ioctl_gntdev_unmap_notify n = {
		.index = gm->index + off,
		.action = UNMAP_NOTIFY_CLEAR_BYTE |
			  (port ? UNMAP_NOTIFY_SEND_EVENT : 0),
		.event_channel_port = port,
	};

	if (off >= gm->len || off >= gnt_chunk * HVX_PAGE)
		return EINVAL;
	return ioctl(gnt_fd, IOCTL_GNTDEV_SET_UNMAP_NOTIFY, &n) ? errno : 0;
}

/*
 * gntdev: a new notification replaces the old one, and action 0 is none at
 * all (the event channel reference the old one held is dropped).
 */
int hvx_gnt_unmap_notify_disarm(const struct hvx_gmap *gm, uint32_t off)
{
	struct ioctl_gntdev_unmap_notify n = {
		.index = gm->index + off,
		.action = 0,
	};

	if (off >= gm->len || off >= gnt_chunk * HVX_PAGE)
		return EINVAL;
	return ioctl(gnt_fd, IOCTL_GNTDEV_SET_UNMAP_NOTIFY, &n) ? errno : 0;
}

/* ------------------------------------------------------------------ */

int hvx_evtchn_fd(void)
{
	return xce ? xenevtchn_fd(xce) : -1;
}

int hvx_evtchn_bind(uint32_t domid, uint32_t remote_port)
{
	xenevtchn_port_or_error_t p;

	if (!xce)
		return -EINVAL;
	p = xenevtchn_bind_interdomain(xce, domid, remote_port);
	if (p < 0)
		return errno ? -errno : -EINVAL;
	if (p == 0) {	/* never a valid bound port; 0 means "none" to us */
		xenevtchn_unbind(xce, p);
		return -EINVAL;
	}
	return p;
}

int hvx_evtchn_notify(uint32_t local_port)
{
	if (!xce || !local_port)
		return EINVAL;
	return xenevtchn_notify(xce, local_port) ? errno : 0;
}

void hvx_evtchn_unbind(uint32_t local_port)
{
	if (xce && local_port)
		xenevtchn_unbind(xce, local_port);
}

int hvx_evtchn_pending(void)
{
	xenevtchn_port_or_error_t p;

	if (!xce)
		return -1;
	p = xenevtchn_pending(xce);
	return p < 0 ? -1 : p;
}

void hvx_evtchn_unmask(uint32_t local_port)
{
	if (xce)
		xenevtchn_unmask(xce, local_port);
}

/* ------------------------------------------------------------------ */

struct xs_handle *hvx_xs(void)
{
	return xsh;
}

int hvx_xs_fd(void)
{
	return xsh ? xs_fileno(xsh) : -1;
}

char *hvx_xs_read(xs_transaction_t t, const char *path, size_t max)
{
	unsigned int len = 0;
	char *v, *s;

	if (!xsh) {
		errno = EINVAL;
		return NULL;
	}
	v = xs_read(xsh, t, path, &len);
	if (!v)
		return NULL;
	if (len > max || memchr(v, 0, len)) {
		free(v);
		errno = E2BIG;
		return NULL;
	}
	s = malloc(len + 1);	/* xs_read terminates, but do not rely on it */
	if (s) {
		memcpy(s, v, len);
		s[len] = 0;
	}
	free(v);
	return s;
}

int hvx_xs_write(xs_transaction_t t, const char *path, const char *val)
{
	if (!xsh)
		return EINVAL;
	return xs_write(xsh, t, path, val, strlen(val)) ? 0 :
	       (errno ? errno : EIO);
}

int hvx_xs_printf(xs_transaction_t t, const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return E2BIG;
	return hvx_xs_write(t, path, buf);
}

int hvx_xs_rm(xs_transaction_t t, const char *path)
{
	if (!xsh)
		return EINVAL;
	if (xs_rm(xsh, t, path) || errno == ENOENT)
		return 0;
	return errno ? errno : EIO;
}

int hvx_xs_mkdir_perms(xs_transaction_t t, const char *path, uint32_t owner,
		       uint32_t reader)
{
	struct xs_permissions p[2] = {
		/* First entry: the owner, and what everybody else may do. */
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	if (!xsh)
		return EINVAL;
	if (!xs_mkdir(xsh, t, path))
		return errno ? errno : EIO;
	if (!xs_set_permissions(xsh, t, path, p, owner == reader ? 1 : 2))
		return errno ? errno : EIO;
	return 0;
}

/* ------------------------------------------------------------------ */

int hvx_domain_info(uint32_t domid, struct hvx_dominfo *info)
{
	xc_dominfo_t di;
	int n;

	memset(info, 0, sizeof(*info));
	if (!xch)
		return EINVAL;
	n = xc_domain_getinfo(xch, domid, 1, &di);
	if (n < 0)
		return errno ? errno : EIO;
	if (n != 1 || di.domid != domid)
		return 0;	/* gone */
	info->exists = true;
	info->dying = di.dying;
	info->shutdown = di.shutdown;
	info->shutdown_reason = di.shutdown ? di.shutdown_reason : 0;
	return 0;
}

/* ------------------------------------------------------------------ */

int hvx_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!s || !s[0] || (s[0] == '0' && s[1]))
		return EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return EINVAL;
	*out = v;
	return 0;
}

int hvx_parse_refs(const char *s, uint32_t *refs, unsigned int n)
{
	char buf[12];
	unsigned int k;

	if (!s)
		return EINVAL;
	for (k = 0; k < n; k++) {
		size_t len = strcspn(s, " ");

		if (!len || len >= sizeof(buf))
			return EINVAL;
		memcpy(buf, s, len);
		buf[len] = 0;
		if (hvx_parse_u32(buf, UINT32_MAX, &refs[k]))
			return EINVAL;
		s += len;
		if (k + 1 < n) {
			if (*s != ' ')
				return EINVAL;
			s++;
		}
	}
	return *s ? EINVAL : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hvx_parse_token(const char *s, uint32_t *id, uint64_t *secret)
{
	uint64_t hi = 0, lo = 0;
	int i;

	if (!s || strlen(s) != 24)
		return EINVAL;
	for (i = 0; i < 24; i++) {
		int v = hexval(s[i]);

		if (v < 0)
			return EINVAL;
		if (i < 8)
			hi = hi << 4 | (uint64_t)v;
		else
			lo = lo << 4 | (uint64_t)v;
	}
	*id = hi;
	*secret = lo;
	return 0;
}
