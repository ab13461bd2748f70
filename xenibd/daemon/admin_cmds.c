// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The admin commands (xenibctl(8)): each formats its answer into a buffer;
 * admin.c moves the bytes.  Commands run on the event loop and must not
 * block.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/daemon/admin.h"
#include "xenibd/fabric/fabric.h"
#include "xenibd/transport/xen/xen.h"
#include "xenibd/cm/cm_hook.h"

/* Guests with at least one open context. */
static long live_guests(void)
{
	long n = 0;
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests; i++)
		n += xd.guests[i].nctx > 0;
	return n;
}

/*
 * The notification policy's figures (daemon/idle.c, dev/batch.c): yields,
 * RNR waits, CQE batches and the kick-to-wake-up latencies, whose log2
 * histogram lets a reader take percentiles of any interval's difference.
 */
static int fmt_policy(char *buf, size_t len)
{
	const struct xd_stats *s = &xd.stats;
	int n, i;

	n = snprintf(buf, len,
		     "idle_yields %lld\ncostly_yields %lld\n"
		     "rnr_yields %lld\nrnr_saved %lld\nrnr_early %lld\n"
		     "cqes %lld\ncq_publishes %lld\n"
		     "wake_n %lld\nwake_sum_ns %lld\nwake_max_ns %lld\n"
		     "wake_log2",
		     s->idle_yields, s->costly_yields, s->rnr_yields,
		     s->rnr_saved, s->rnr_early, s->cqes, s->cq_publishes, s->wake_n,
		     s->wake_sum_ns, s->wake_max_ns);
	for (i = 0; i < 24 && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - n, " %lld", s->wake_log2[i]);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "\n");
	return n;
}

static int fmt_stats(char *buf, size_t len)
{
	const struct xd_stats *s = &xd.stats;
	int n;

	n = snprintf(buf, len,
			"guests %ld\nknown_guests %ld\n"
			"contexts %ld\npds %ld\nmrs %ld\n"
			"mr_bytes %lld\nmr_regs %lld\nmr_reg_bytes %lld\n"
			"cqs %ld\nqps %ld\nregions %ld\n"
			"notifiers %ld\nctrl_msgs %lld\nctrl_errors %lld\n"
			"wqes %lld\nsrqs %ld\nahs %ld\nxrcds %ld\nmws %ld\n"
			"doorbells %lld\nsleeps %lld\n"
			"mappings %lld\nmap_pages %lld\n",
			live_guests(), s->guests, s->contexts, s->pds, s->mrs, s->mr_bytes,
			s->mr_regs, s->mr_reg_bytes,
			s->cqs, s->qps, s->regions, s->notifiers, s->ctrl_msgs,
			s->ctrl_errors, s->wqes, s->srqs, s->ahs, s->xrcds, s->mws,
			s->doorbells, s->sleeps, s->mappings, s->map_pages);
	if (n > 0 && (size_t)n < len)
		n += fmt_policy(buf + n, len - n);
	if (n < 0 || (size_t)n >= len)
		return n;
	return n + xd_cm_stats(buf + n, len - n);
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

static void migrated(void *arg, int err, const char *report)
{
	char text[480];

	snprintf(text, sizeof(text), "%s%s\n", err ? "error " : "ok ",
		 report);
	xd_admin_finish((uintptr_t)arg, text);
}

/* migrate GUEST HOST: answered when the handover is over. */
static int migrate(char *buf, size_t len, const char *cmd)
{
	char name[64], host[64];
	const char *why = NULL;
	uint64_t id;
	int err;

	if (sscanf(cmd, "migrate %63s %63s", name, host) != 2)
		return snprintf(buf, len, "error usage: migrate GUEST HOST\n");
	id = xd_admin_defer();
	err = xd_fabric_migrate(name, host, migrated, (void *)(uintptr_t)id,
				&why);
	if (err) {
		char text[160];

		snprintf(text, sizeof(text), "error %s: %s\n", strerror(err),
			 why ? why : "");
		xd_admin_finish(id, text);
	}
	return 0;
}

int xd_admin_command(const char *cmd, char *out, size_t len)
{
	int n;

	if (!strcmp(cmd, "stats"))
		n = fmt_stats(out, len);
	else if (!strcmp(cmd, "guests"))
		n = fmt_guests(out, len);
	else if (!strcmp(cmd, "link-flap"))
		n = link_flap(out, len);
	else if (!strncmp(cmd, "attach ", 7) || !strncmp(cmd, "detach ", 7))
		n = attach_detach(out, len, cmd);
	else if (!strcmp(cmd, "hosts"))
		n = xd_fabric_fmt_hosts(out, len);
	else if (!strcmp(cmd, "routes"))
		n = xd_fabric_fmt_routes(out, len);
	else if (!strncmp(cmd, "migrate ", 8))
		n = migrate(out, len, cmd);
	else if (!strcmp(cmd, "qps"))
		n = xd_admin_fmt_qps(out, len);
	else if (!strcmp(cmd, "domains"))
		n = xd_xen_active() ?
			xd_xen_fmt_domains(out, len) :
			snprintf(out, len, "error not serving Xen domains\n");
	else
		n = snprintf(out, len, "error unknown command\n");
	if (n < 0)
		return 0;
	return (size_t)n < len ? n : (int)len - 1;
}
