// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A REQ (or SIDR REQ) that comes before its listener: held for a while.
 *
 * Programs learn a passive side's port from it by other means and some
 * send it between rdma_bind_addr() and rdma_listen() (qperf -cm1 writes
 * the port to its TCP control channel first, then listens).  On a real
 * fabric the requester's route resolution (an SA query) nearly always
 * takes longer than that; ours resolves at once, and on a loaded host the
 * passive side, preempted by the requester it has just woken, often
 * listens only after the REQ came: REJ "invalid service ID", connection
 * lost.  A REQ may take any time on its way, so a REQ for a port that an
 * id has bound and not yet listens on is kept (one per id, an
 * unanswered REQ as a slow fabric would keep it) until that id listens
 * (then it is received as if it came then), goes elsewhere, is destroyed,
 * or CM_HOLD_MS pass (then REJ 8, as without a listener).  Retries of the
 * held REQ are absorbed; another REQ meanwhile is rejected at once.
 *
 * The same for a port whose listener has just gone: a service that
 * serves each connection from a new listening id (perftest -R: one for
 * its handshake, one for the test) leaves the port unbound between the
 * two, and its client, as quick as the route resolution above, asks in
 * that gap.  Such a port (in any port space: perftest -R -c UD serves its
 * handshake over RDMA_PS_TCP, its test over RDMA_PS_UDP) is remembered
 * for CM_RELISTEN_MS; a REQ for it is kept (one per port) until an id
 * binds the port again (then as above) or CM_HOLD_MS pass.  A port nobody listened on lately gets its
 * REJ at once, as on hardware.  The memory is CM_RELISTEN_SLOTS ports on
 * the host, the oldest forgotten first: a guest that listens and stops
 * on many ports only makes these REQs get their REJ at once.
 */
#include <stdlib.h>
#include <string.h>

#include "xenibd/cm/cm.h"

#define CM_HOLD_MS	1000	/* well inside the requester's 4.3 s */
#define CM_RELISTEN_MS	5000	/* a gone listener's port is remembered */
#define MS		1000000ull

static bool is_sidr(const struct cm_msg *m)
{
	return m->type == CM_MSG_SIDR_REQ;
}

static bool same_req(const struct cm_msg *a, const struct cm_msg *b)
{
	return a->slid == b->slid && a->local_comm_id == b->local_comm_id;
}

/* The answer for a REQ nobody listens for: REJ 8 / SIDR "unsupported". */
static void reject(const struct cm_msg *m)
{
	if (is_sidr(m))
		cm_sidr_rej_req(m, CM_SIDR_UNSUPPORTED);
	else
		cm_conn_rej_req(m, CM_REJ_INVALID_SID);
}

static void deliver(const struct cm_msg *m)
{
	if (is_sidr(m))
		cm_sidr_recv(m);
	else
		cm_conn_recv(m);
}

static struct cm_msg *copy_msg(const struct cm_msg *m)
{
	struct cm_msg *c = malloc(sizeof(*c));

	if (c)
		memcpy(c, m, sizeof(*c));
	return c;
}

/*
 * A remembered port, in any port space: perftest -R -c UD listens for its
 * handshake in RDMA_PS_TCP, then for its test in RDMA_PS_UDP.
 */
static struct cm_relisten *relisten_find(uint16_t port, uint64_t now)
{
	unsigned int i;

	for (i = 0; i < CM_RELISTEN_SLOTS; i++) {
		struct cm_relisten *r = &cm.relisten[i];

		if (r->until_ns > now && r->port == port)
			return r;
	}
	return NULL;
}

static void relisten_free(struct cm_relisten *r)
{
	free(r->req);
	memset(r, 0, sizeof(*r));
}

static bool hold_for_port(const struct cm_msg *m, uint16_t port)
{
	uint64_t now = cm_now();
	struct cm_relisten *r = relisten_find(port, now);

	if (!r)
		return false;
	if (r->req)
		return same_req(r->req, m);	/* a retry: absorbed */
	r->req = copy_msg(m);
	if (!r->req)
		return false;
	r->req_until_ns = now + CM_HOLD_MS * MS;
	if (r->until_ns < r->req_until_ns)
		r->until_ns = r->req_until_ns;	/* found when the port is bound */
	if (r->req_until_ns < cm.next_timer_ns)
		cm.next_timer_ns = r->req_until_ns;
	xd_dbg("cm: REQ from LID %u for port %u, whose listener has just gone: kept",
	       m->slid, port);
	return true;
}

bool cm_hold_req(const struct cm_msg *m, uint32_t ps, uint16_t port,
		 const struct xenib_cm_addr *dst)
{
	struct cm_id *id = cm_find_bound(ps, port, dst);

	if (!id)
		return hold_for_port(m, port);
	if (id->held_req)
		return same_req(id->held_req, m);
	if (id->timer != CMT_NONE)
		return false;	/* busy otherwise: not ours to hold */
	id->held_req = copy_msg(m);
	if (!id->held_req)
		return false;
	cm_timer_set(id, CMT_HELD, CM_HOLD_MS * MS);
	xd_dbg("cm: REQ from LID %u for port %u before its listener: held",
	       m->slid, port);
	return true;
}

void cm_hold_release(struct cm_id *id, bool listening)
{
	struct cm_msg *m = id->held_req;

	if (!m)
		return;
	id->held_req = NULL;
	if (id->timer == CMT_HELD)
		cm_timer_stop(id);
	if (listening)
		deliver(m);
	else
		reject(m);
	free(m);
}

void cm_hold_remember(const struct cm_id *l)
{
	uint64_t now = cm_now();
	struct cm_relisten *r = relisten_find(l->src.port, now);
	unsigned int i;

	if (!r) {
		/* A free slot, or the one forgotten soonest. */
		r = &cm.relisten[0];
		for (i = 0; i < CM_RELISTEN_SLOTS; i++) {
			if (cm.relisten[i].until_ns < r->until_ns)
				r = &cm.relisten[i];
			if (!r->until_ns)
				break;
		}
		if (r->req)
			reject(r->req);
		relisten_free(r);
		r->port = l->src.port;
	}
	r->until_ns = now + CM_RELISTEN_MS * MS;
}

void cm_hold_bound(struct cm_id *id)
{
	struct cm_relisten *r = relisten_find(id->src.port, cm_now());
	struct cm_msg *m;

	if (!r || !r->req)
		return;
	m = r->req;
	r->req = NULL;
	/* Received again: now held on the bound id, or rejected. */
	deliver(m);
	free(m);
}

uint64_t cm_hold_expire(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < CM_RELISTEN_SLOTS; i++) {
		struct cm_relisten *r = &cm.relisten[i];

		if (r->req && r->req_until_ns <= now) {
			reject(r->req);
			free(r->req);
			r->req = NULL;
		}
		if (r->req && r->req_until_ns < next)
			next = r->req_until_ns;
		else if (!r->req && r->until_ns && r->until_ns <= now)
			relisten_free(r);
	}
	return next;
}
