// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Admin socket (DIR/xenibd.ctl, root only): xenibctl asks for the backend's
 * own accounting.  Protocol: one text command line in, text lines out, close.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "xenibd/xenibd.h"
#include "xenibd/loop.h"
#include "xenibd/xen.h"

int xd_admin_listen(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenibd.ctl", dir) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(sa.sun_path, 0600) || listen(fd, 8)) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/* Guests with at least one open context. */
static long live_guests(void)
{
	long n = 0;
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests; i++)
		n += xd.guests[i].nctx > 0;
	return n;
}

static int fmt_stats(char *buf, size_t len)
{
	const struct xd_stats *s = &xd.stats;

	return snprintf(buf, len,
			"guests %ld\nknown_guests %ld\n"
			"contexts %ld\npds %ld\nmrs %ld\n"
			"mr_bytes %lld\ncqs %ld\nqps %ld\nregions %ld\n"
			"notifiers %ld\nctrl_msgs %lld\nctrl_errors %lld\n"
			"wqes %lld\nsrqs %ld\nahs %ld\nxrcds %ld\n"
			"doorbells %lld\nsleeps %lld\n",
			live_guests(), s->guests, s->contexts, s->pds, s->mrs, s->mr_bytes,
			s->cqs, s->qps, s->regions, s->notifiers, s->ctrl_msgs,
			s->ctrl_errors, s->wqes, s->srqs, s->ahs, s->xrcds,
			s->doorbells, s->sleeps);
}

/*
 * "link-flap": the administrator bounces the virtual link of port 1.  Every
 * open context sees what a real HCA reports for a link that goes down and
 * comes back: IBV_EVENT_PORT_ERR, then IBV_EVENT_PORT_ACTIVE.  The port is
 * ACTIVE again afterwards; no QP changes state.
 */
static int link_flap(char *buf, size_t len)
{
	struct list_node *pos, *tmp;
	int n = 0;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (!ctx->page)
			continue;
		xd_ctx_post_async(ctx, IBV_EVENT_PORT_ERR, 1);
		xd_ctx_post_async(ctx, IBV_EVENT_PORT_ACTIVE, 1);
		n++;
	}
	xd_log("admin: link flap of port 1 reported to %d contexts", n);
	return snprintf(buf, len, "link-flap contexts %d\n", n);
}

static int fmt_guests(char *buf, size_t len)
{
	int n = 0;
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests && n < (int)len; i++) {
		const struct xd_guest *g = &xd.guests[i];

		if (!g->name[0])
			continue;
		n += snprintf(buf + n, len - n,
			      "%s lid %u guid %016llx contexts %u\n", g->name,
			      g->lid, (unsigned long long)g->guid, g->nctx);
	}
	return n;
}

/* attach NAME / detach NAME (Xen). */
static int attach_detach(char *buf, size_t len, const char *cmd)
{
	bool attach = !strncmp(cmd, "attach ", 7);
	const char *name = cmd + 7;
	int err;

	err = attach ? xd_xen_attach(name) : xd_xen_detach(name);
	if (err == EOPNOTSUPP)
		return snprintf(buf, len, "error not serving Xen domains\n");
	if (err)
		return snprintf(buf, len, "error %s %s: %s\n",
				attach ? "attach" : "detach", name,
				strerror(err));
	xd_log("admin: %s %s", attach ? "attach" : "detach", name);
	return snprintf(buf, len, "ok\n");
}

void xd_admin_readable(int fd)
{
	char cmd[128], out[8192];
	ssize_t n;
	int len;

	if (fd == xd.admin_fd) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0) {
			/* Commands are one short line; wait briefly for it. */
			struct timeval tv = { .tv_sec = 1 };

			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			xd_admin_readable(c);
		}
		return;
	}
	n = read(fd, cmd, sizeof(cmd) - 1);
	if (n <= 0) {
		close(fd);
		return;
	}
	cmd[n] = 0;
	cmd[strcspn(cmd, "\r\n")] = 0;
	if (!strcmp(cmd, "stats"))
		len = fmt_stats(out, sizeof(out));
	else if (!strcmp(cmd, "guests"))
		len = fmt_guests(out, sizeof(out));
	else if (!strcmp(cmd, "link-flap"))
		len = link_flap(out, sizeof(out));
	else if (!strncmp(cmd, "attach ", 7) || !strncmp(cmd, "detach ", 7))
		len = attach_detach(out, sizeof(out), cmd);
	else if (!strcmp(cmd, "domains"))
		len = xd.xen ? xd_xen_fmt_domains(out, sizeof(out)) :
			       snprintf(out, sizeof(out),
					"error not serving Xen domains\n");
	else
		len = snprintf(out, sizeof(out), "error unknown command\n");
	if (len > (int)sizeof(out))
		len = sizeof(out);
	if (write(fd, out, len) < 0)
		xd_dbg("admin client went away");
	close(fd);
}
