// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The idle policy of the main loop: when a round over every ring found
 * nothing, poll again (yielding the CPU first, or not) or sleep until a
 * guest kicks.
 *
 * Polling is bounded in work: an idle spell is XD_IDLE_ROUNDS empty
 * rounds, then the loop sleeps (and never polls longer than spin_us).
 * What a round does is decided by two costs, both measured here rather
 * than guessed:
 *
 *  - A sleep costs the next WQE a kick and a wake-up: the guest's system
 *    call, the scheduler waking us, epoll returning.  The doorbell path
 *    measures it (the guest stamps its kick, dev/notify.c): wake_ns.
 *  - A yield costs the time until we run again.  With a core to ourselves
 *    that is one system call; next to a guest that polls its CQ through
 *    the provider it is that guest's next empty poll, which yields back to
 *    an awake backend (providers/xenib/cq.c); next to a thread that spins
 *    without yielding (a guest polling its own memory, another program)
 *    it is the rest of that thread's time slice, milliseconds, while a
 *    sleeping backend would have been woken by the kick and run at once.
 *
 * So the loop yields between its looks while a yield costs less than a
 * sleep: cores shared with cooperative guests are handed back and forth
 * without system calls on the guests' side.  A yield that cost more than
 * a sleep means the CPU is shared with someone who does not give it back:
 * from then on the loop does not yield, it polls its rounds at once
 * (catching work posted from the other cores) and sleeps.  It tries
 * yielding again once the sleeps since have cost as much as that one
 * yield did (the rent-or-buy rule: neither choice costs more than twice
 * the better one), the sleeps counted at their measured wake-up
 * latencies.  No threshold depends on the machine.
 */
#include "xenibd/daemon/idle.h"

void xd_idle_init(struct xd_idle *p, uint64_t max_ns, bool adaptive)
{
	*p = (struct xd_idle){ .max_ns = max_ns, .adaptive = adaptive };
}

uint64_t xd_idle_wake_cost(const struct xd_idle *p)
{
	if (!p->wake_ns || p->wake_ns > p->max_ns)
		return p->max_ns;
	return p->wake_ns;
}

void xd_idle_busy(struct xd_idle *p)
{
	p->idle_since = 0;
	p->rounds = 0;
}

enum xd_idle_do xd_idle_next(struct xd_idle *p, uint64_t now)
{
	if (!p->idle_since)
		p->idle_since = now ? now : 1;
	if (++p->rounds > XD_IDLE_ROUNDS || now - p->idle_since >= p->max_ns)
		return XD_IDLE_SLEEP;
	return p->no_yield ? XD_IDLE_POLL : XD_IDLE_YIELD;
}

bool xd_idle_may_yield(const struct xd_idle *p)
{
	return !p->no_yield;
}

bool xd_idle_yielded(struct xd_idle *p, uint64_t cost_ns)
{
	if (!p->adaptive || cost_ns < xd_idle_wake_cost(p))
		return false;
	p->no_yield = true;
	if (cost_ns > p->debt)
		p->debt = cost_ns;
	return true;
}

void xd_idle_kicked(struct xd_idle *p, uint64_t ns)
{
	p->last_wake = ns ? ns : xd_idle_wake_cost(p);
	if (!ns)
		return;
	/*
	 * Average of the last eight or so.  A sample beyond max_ns counts as
	 * max_ns, so one wake-up stuck behind a busy CPU does not make every
	 * yield look cheap for long.
	 */
	if (ns > p->max_ns)
		ns = p->max_ns;
	if (!p->wake_ns)
		p->wake_ns = ns;
	else
		p->wake_ns = p->wake_ns - p->wake_ns / 8 + ns / 8;
	if (!p->wake_ns)
		p->wake_ns = 1;
}

void xd_idle_woke(struct xd_idle *p)
{
	uint64_t paid = p->last_wake;	/* 0: a timer woke us, no one waited */

	p->last_wake = 0;
	xd_idle_busy(p);
	if (!p->no_yield)
		return;
	p->debt = p->debt > paid ? p->debt - paid : 0;
	if (!p->debt)
		p->no_yield = false;	/* see whether yielding pays again */
}
