// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A migration's source (docs/migration.md, steps 1-3 and 7): freeze the
 * guest, read its location's revision, offer its snapshot to the
 * destination, then move it there (committed) or fence its location and
 * thaw it here (refused, or no answer in time).  If the fence finds the
 * destination committed after all, the answer was lost: ask again
 * (MIG_QUERY) for where the guest must go.
 *
 * One handover per guest at a time; the guest's new contexts are refused
 * meanwhile (HELLO answers EBUSY).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "xenibd/fabric/fint.h"
#include "xenibd/migrate/snap.h"
#include "xenibd/transport/transport.h"

#define XF_MIG_ANSWER_NS	(5 * 1000000000ull)	/* offer -> answer */
#define XF_MIG_QUERY_NS		(200 * 1000000ull)	/* between queries */
#define XF_MIG_QUERY_FOR_NS	(10 * 1000000000ull)
#define XF_MIG_RESUME_NS	(10 * 1000000000ull)	/* moved -> resumed */

enum out_state { OUT_LOC, OUT_OFFER, OUT_FENCE, OUT_QUERY, OUT_MOVED };

struct xm_out {
	enum out_state st;
	struct xd_guest *g;
	char name[64];
	uint16_t lid;
	struct xf_host *h;	/* the destination */
	uint32_t xid;
	int64_t rev;
	uint64_t gen;
	struct xm_buf snap;
	char (*tokens)[XENIB_TOKEN_LEN];
	unsigned int nctx;
	const char *tpname;
	int refused;		/* the destination's errno */
	uint64_t t0, t_offer, t_answer, deadline_ns, next_query_ns;
	char report[256];	/* OUT_MOVED: what moved, so far */
	void (*done)(void *arg, int err, const char *report);
	void *arg;
	struct list_node link;
};

static struct list_node outs = LIST_INIT(outs);

static double ms(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

/* Contexts of the guest still here, in xd.ctxs order (the snapshot's). */
#define FOR_CTX(o, ctx, pos, tmp)                                          \
	list_for_each_safe(pos, tmp, &xd.ctxs)                             \
		if (((ctx) = list_entry(pos, struct xd_ctx, link))->guest ==  \
		    (o)->g)

static void out_free(struct xm_out *o, int err, const char *report)
{
	list_del(&o->link);
	if (o->g && o->g->outgoing == o)
		o->g->outgoing = NULL;
	xm_buf_free(&o->snap);
	free(o->tokens);
	if (o->done)
		o->done(o->arg, err, report);
	free(o);
}

static void thaw(struct xm_out *o, int err, const char *why)
{
	struct list_node *pos, *tmp;
	struct xd_ctx *ctx;
	char report[256];

	FOR_CTX(o, ctx, pos, tmp) {
		ctx->frozen = false;
		ctx->tp->thaw(ctx);
		xd_engine_ctx_thawed(ctx);
	}
	snprintf(report, sizeof(report), "not moved: %s (paused %.1f ms)",
		 why, ms(o->t0, xd_now_ns()));
	xd_log("migration: guest %s stays here: %s", o->name, why);
	out_free(o, err, report);
}

/* The destination owns the guest: send its contexts there, forget it. */
static void moved(struct xm_out *o, const char *addr)
{
	struct list_node *pos, *tmp;
	struct xd_ctx *ctx;
	unsigned int i = 0, failed = 0;
	uint64_t now = xd_now_ns();

	FOR_CTX(o, ctx, pos, tmp) {
		/* The snapshot's order: the i-th context has token i. */
		if (i >= o->nctx ||
		    ctx->tp->move(ctx, o->tokens[i], addr))
			failed++;
		i++;
		xd_ctx_destroy(ctx);
	}
	xm_tombstone(o->lid);
	xd_guest_moved_away(o->g);
	o->g = NULL;
	snprintf(o->report, sizeof(o->report),
		 "moved to %s: %u contexts%s, freeze->offer %.1f ms, "
		 "offer->commit %.1f ms, moved %.1f ms", o->h->id, i,
		 failed ? " (some could not be told: they see the backend "
			  "close)" : "",
		 ms(o->t0, o->t_offer), ms(o->t_offer, o->t_answer),
		 ms(o->t0, now));
	xd_log("migration: guest %s %s", o->name, o->report);
	/* Done when the destination says the guest runs there. */
	o->st = OUT_MOVED;
	o->deadline_ns = now + XF_MIG_RESUME_NS;
}

void xf_mig_src_resumed(struct xf_host *h, const struct xf_mig_answer *a)
{
	struct list_node *pos, *tmp;
	char report[400];

	list_for_each_safe(pos, tmp, &outs) {
		struct xm_out *o = list_entry(pos, struct xm_out, link);

		if (o->h != h || o->xid != a->xid || o->lid != a->lid ||
		    o->st != OUT_MOVED)
			continue;
		snprintf(report, sizeof(report), "%s, resumed there: total "
			 "%.1f ms", o->report, ms(o->t0, xd_now_ns()));
		out_free(o, 0, report);
		return;
	}
}

static void fenced(struct xdir *d, int err, const char *msg,
		   const struct xdir_loc *l, void *arg)
{
	struct xm_out *o = arg;
	char why[160];

	if (!err) {
		snprintf(why, sizeof(why), "%s %s", o->h->id,
			 o->refused ? strerror(o->refused) :
				      "did not answer in time");
		thaw(o, o->refused ? o->refused : ETIMEDOUT, why);
		return;
	}
	if (err == ESTALE) {
		/* The destination committed; its answer is what we lack. */
		o->st = OUT_QUERY;
		o->deadline_ns = xd_now_ns() + XF_MIG_QUERY_FOR_NS;
		o->next_query_ns = 0;
		return;
	}
	/* etcd unreachable: the guest cannot be given back safely yet. */
	xd_log("migration: guest %s: cannot fence its location: %s; "
	       "trying again", o->name, msg);
	o->st = OUT_FENCE;
	o->deadline_ns = 0;
	o->next_query_ns = xd_now_ns() + XF_MIG_QUERY_NS;
}

/* Take the location back (compare on the revision the offer named). */
static void fence(struct xm_out *o)
{
	o->st = OUT_FENCE;
	o->next_query_ns = UINT64_MAX;
	if (xdir_loc_claim(xf.dir, o->lid, o->rev, o->gen, fenced, o))
		o->next_query_ns = xd_now_ns() + XF_MIG_QUERY_NS;
}

void xf_mig_src_answer(struct xf_host *h, const struct xf_mig_answer *a)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &outs) {
		struct xm_out *o = list_entry(pos, struct xm_out, link);

		if (o->h != h || o->xid != a->xid || o->lid != a->lid)
			continue;
		o->t_answer = xd_now_ns();
		if (!a->status && (o->st == OUT_OFFER || o->st == OUT_QUERY)) {
			moved(o, a->addr);
		} else if (a->status && o->st == OUT_OFFER) {
			o->refused = a->status;
			fence(o);
		}
		return;
	}
}

static void offer_sent(void *arg, int status)
{
	xm_buf_free(arg);
	free(arg);
}

static int send_offer(struct xm_out *o)
{
	struct xw_peer *peer = xf_host_peer(o->h);
	struct xf_mig_offer m = {
		.h = { XF_MAGIC, XF_VERSION, XF_MIG_OFFER, sizeof(m) },
		.lid = o->lid, .xid = o->xid, .loc_rev = o->rev,
		.loc_gen = o->gen, .snap_len = o->snap.len,
	};
	struct xm_buf *copy;
	struct iovec iov;
	int err;

	if (!peer)
		return EAGAIN;	/* connecting: the tick tries again */
	snprintf(m.transport, sizeof(m.transport), "%s", o->tpname);
	snprintf(m.name, sizeof(m.name), "%s", o->name);
	/* The wire owns the bytes until sent; we may retry meanwhile. */
	copy = calloc(1, sizeof(*copy));
	if (!copy)
		return ENOMEM;
	*copy = o->snap;
	copy->p = malloc(o->snap.len);
	if (!copy->p) {
		free(copy);
		return ENOMEM;
	}
	memcpy(copy->p, o->snap.p, o->snap.len);
	iov.iov_base = copy->p;
	iov.iov_len = copy->len;
	err = xw_send(peer, &m, sizeof(m), &iov, 1, 0, offer_sent, copy);
	if (err) {
		offer_sent(copy, err);
		return -err;
	}
	o->t_offer = xd_now_ns();
	o->st = OUT_OFFER;
	o->deadline_ns = o->t_offer + XF_MIG_ANSWER_NS;
	return 0;
}

static void make_tokens(struct xm_out *o)
{
	unsigned char r[12];
	unsigned int i, j;

	for (i = 0; i < o->nctx; i++) {
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			for (j = 0; j < sizeof(r); j++)	/* never fails */
				r[j] = (unsigned char)(xd_now_ns() >> (j % 8));
		for (j = 0; j < sizeof(r); j++)
			snprintf(o->tokens[i] + 2 * j, 3, "%02x", r[j]);
	}
}

static void loc_read(struct xdir *d, int err, const char *msg,
		     const struct xdir_loc *l, void *arg)
{
	struct xm_out *o = arg;

	if (!o->g) {
		out_free(o, ESRCH, "the guest went away");
		return;
	}
	if (err || !l || strcmp(l->host, xd.cfg.fabric.host)) {
		thaw(o, err ? err : ESTALE,
		     err ? msg : "the directory does not locate it here");
		return;
	}
	o->rev = l->mod_rev;
	o->gen = l->gen;
	make_tokens(o);
	err = xm_snap_save(o->g, o->tokens, o->nctx, &o->snap);
	if (err) {
		thaw(o, err, "cannot take its snapshot");
		return;
	}
	err = send_offer(o);
	if (err && err != EAGAIN) {
		thaw(o, err, "cannot send the offer");
		return;
	}
	if (err) {		/* the wire is connecting: the tick sends it */
		o->st = OUT_OFFER;
		o->t_offer = 0;
		o->deadline_ns = xd_now_ns() + XF_MIG_ANSWER_NS;
	}
}

/*
 * Can every context of g move (its transport moves guests, HV bound)?
 * The snapshot (migrate/) has the verbs objects only: rdma_cm ids,
 * listeners and connections (xenibd/cm/) and multicast attachments
 * (dev/mcast.c) are not in it, so a guest holding any stays here rather
 * than lose them silently.
 */
static const char *movable(struct xd_guest *g, unsigned int *nctx,
			   const char **tpname)
{
	struct list_node *pos, *tmp, *np, *nt;
	unsigned int n = 0;

	*tpname = NULL;
	if (g->mcast_atts)
		return "a UD QP of it is attached to a multicast group "
		       "(attachments are not carried across a migration)";
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);
		bool hv = false;

		if (ctx->guest != g)
			continue;
		if (ctx->cm || ctx->cm_only)
			return "it has an rdma_cm event channel (connection "
			       "manager state is not carried across a "
			       "migration)";
		if (!ctx->tp->move || !ctx->tp->freeze)
			return "its transport cannot move guests";
		if (*tpname && strcmp(*tpname, ctx->tp->name))
			return "its contexts have different transports";
		*tpname = ctx->tp->name;
		if (!ctx->hello || ctx->hello_pending || ctx->adopt)
			return "a context is starting or arriving";
		/*
		 * Objects the snapshot does not carry (snap.h): refused
		 * here, before anything is frozen, rather than lost there.
		 */
		if (!list_empty(&ctx->mws))
			return "it has memory windows, which a migration "
			       "does not carry";
		if (ctx->share || ctx->zombie || !list_empty(&ctx->imports))
			return "a context of it is shared or imported "
			       "(ibv_import_device), which a migration does "
			       "not carry";
		list_for_each_safe(np, nt, &ctx->notifiers)
			if (list_entry(np, struct xd_notify, link)->kind ==
			    XENIB_NOTIFY_HV)
				hv = true;
		if (!hv)
			return "a context cannot be told to move (its "
			       "provider has no HV notifier)";
		n++;
	}
	*nctx = n;
	return n ? NULL : "it has no open context here";
}

int xd_fabric_migrate(const char *name, const char *host,
		      void (*done)(void *, int, const char *), void *arg,
		      const char **why)
{
	struct list_node *pos, *tmp;
	struct xd_guest *g = NULL;
	struct xm_out *o;
	uint32_t i;

	if (!xf.dir) {
		*why = "not in a fabric";
		return ENOTCONN;
	}
	for (i = 0; i < xd.cfg.max_guests; i++)
		if (xd.guests[i].name[0] && !strcmp(xd.guests[i].name, name))
			g = &xd.guests[i];
	if (!g || g->incoming) {
		*why = g ? "it is arriving here" : "no such guest here";
		return ENOENT;
	}
	if (g->outgoing) {
		*why = "it is moving already";
		return EBUSY;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		*why = "out of memory";
		return ENOMEM;
	}
	o->h = xf_host_by_name(host);
	if (!strcmp(host, xd.cfg.fabric.host) || !o->h || !o->h->in_dir) {
		*why = "no such other host in the directory";
		free(o);
		return EHOSTUNREACH;
	}
	*why = movable(g, &o->nctx, &o->tpname);
	if (*why) {
		free(o);
		return EOPNOTSUPP;
	}
	o->tokens = calloc(o->nctx, sizeof(*o->tokens));
	if (!o->tokens || getrandom(&o->xid, sizeof(o->xid), 0) < 0) {
		free(o->tokens);
		free(o);
		*why = "out of memory";
		return ENOMEM;
	}
	o->g = g;
	o->lid = g->lid;
	snprintf(o->name, sizeof(o->name), "%s", g->name);
	o->done = done;
	o->arg = arg;
	o->t0 = xd_now_ns();
	o->st = OUT_LOC;
	o->deadline_ns = o->t0 + XF_MIG_ANSWER_NS;
	list_add_tail(&outs, &o->link);
	g->outgoing = o;
	/* Freeze: nothing of the guest runs here from now on. */
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->guest == g) {
			ctx->frozen = true;
			ctx->tp->freeze(ctx);
		}
	}
	xd_log("migration: guest %s (LID %u): frozen, %u contexts, to %s",
	       g->name, g->lid, o->nctx, host);
	if (xdir_loc_read(xf.dir, g->lid, loc_read, o)) {
		thaw(o, EIO, "cannot read its location");
		*why = NULL;
	}
	return 0;
}

void xf_mig_tick(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;
	uint64_t now = xd.now_ns;

	list_for_each_safe(pos, tmp, &outs) {
		struct xm_out *o = list_entry(pos, struct xm_out, link);
		uint64_t due = UINT64_MAX;

		switch (o->st) {
		case OUT_LOC:
			break;		/* the directory answers or times out */
		case OUT_MOVED:
			if (now >= o->deadline_ns) {
				char report[400];

				snprintf(report, sizeof(report), "%s; not "
					 "resumed at %s within %llu s", o->report,
					 o->h->id, XF_MIG_RESUME_NS / 1000000000ull);
				out_free(o, 0, report);
				continue;
			}
			due = o->deadline_ns;
			break;
		case OUT_OFFER:
			if (!o->t_offer && now < o->deadline_ns &&
			    send_offer(o) == EAGAIN) {
				due = now + XF_MIG_QUERY_NS / 4;
				break;
			}
			if (now >= o->deadline_ns) {
				fence(o);
				break;
			}
			due = o->deadline_ns;
			break;
		case OUT_FENCE:
			if (o->next_query_ns != UINT64_MAX &&
			    now >= o->next_query_ns)
				fence(o);
			due = o->next_query_ns;
			break;
		case OUT_QUERY:
			if (now >= o->deadline_ns) {
				/* Owned elsewhere, and we cannot say where. */
				struct list_node *p, *t;
				struct xd_ctx *ctx;

				FOR_CTX(o, ctx, p, t)
					xd_ctx_destroy(ctx);
				xd_guest_moved_away(o->g);
				o->g = NULL;
				out_free(o, ETIMEDOUT, "moved, but its new "
					 "host never said where: its contexts "
					 "are closed");
				continue;
			}
			if (now >= o->next_query_ns) {
				xf_mig_send_answer(o->h, XF_MIG_QUERY, o->lid,
						   o->xid, 0, "");
				o->next_query_ns = now + XF_MIG_QUERY_NS;
			}
			due = o->next_query_ns;
			break;
		}
		if (due < *next_ns)
			*next_ns = due;
	}
}
