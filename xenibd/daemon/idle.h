/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the main loop does when a round over every ring found nothing:
 * look again (after yielding the CPU, or at once), or sleep until a guest
 * kicks (daemon/idle.c explains the choice).  Pure bookkeeping on times
 * the caller measures, so the tests can drive it.
 */
#ifndef XENIBD_DAEMON_IDLE_H
#define XENIBD_DAEMON_IDLE_H

#include <stdbool.h>
#include <stdint.h>

enum xd_idle_do {
	XD_IDLE_YIELD,		/* sched_yield(), then poll again */
	XD_IDLE_POLL,		/* poll again at once */
	XD_IDLE_SLEEP,		/* arm the guests' kicks and sleep */
};

/* Empty rounds an idle spell polls before it sleeps. */
#define XD_IDLE_ROUNDS		64

struct xd_idle {
	uint64_t max_ns;	/* never poll idle longer (spin_us) */
	bool adaptive;		/* false: always yield, up to max_ns */
	uint64_t wake_ns;	/* kick-to-wake-up latency (average); 0: none */
	uint64_t last_wake;	/* the latest sample, not yet accounted */
	uint64_t idle_since;	/* first empty round of this spell; 0: busy */
	unsigned int rounds;	/* empty rounds in this spell */
	bool no_yield;		/* a yield cost more than a sleep would */
	uint64_t debt;		/* what that yield cost, not yet slept off */
};

void xd_idle_init(struct xd_idle *p, uint64_t max_ns, bool adaptive);
/* What a sleep costs the next WQE (measured; max_ns until known). */
uint64_t xd_idle_wake_cost(const struct xd_idle *p);
/* A round found work. */
void xd_idle_busy(struct xd_idle *p);
/* A round found nothing, at time now: what next. */
enum xd_idle_do xd_idle_next(struct xd_idle *p, uint64_t now);
/* A yield took cost_ns until we ran again; true if that was too dear. */
bool xd_idle_yielded(struct xd_idle *p, uint64_t cost_ns);
/* Would a yield now be worth it (the receive-wait hook asks)? */
bool xd_idle_may_yield(const struct xd_idle *p);
/*
 * A guest's kick woke us: ns is its kick-to-wake-up latency, 0 where it
 * cannot be measured (no shared clock).
 */
void xd_idle_kicked(struct xd_idle *p, uint64_t ns);
/* We slept and are awake again. */
void xd_idle_woke(struct xd_idle *p);

#endif /* XENIBD_DAEMON_IDLE_H */
