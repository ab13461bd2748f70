// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd's idle policy (daemon/idle.c) on made-up times: an idle spell is
 * a bounded number of rounds (and never longer than spin_us); rounds
 * yield while a yield is cheaper than a sleep's measured wake-up; one
 * dearer yield stops the yielding until the sleeps since have cost as
 * much as it did (timer wake-ups cost nothing, kicks what they took);
 * without adaptation the loop always yields.
 */
#include "tests/common/check.h"
#include "xenibd/daemon/idle.h"

#define US 1000ull

/* Rounds of an idle spell starting at t, each taking step ns. */
static unsigned int spell(struct xd_idle *p, uint64_t t, uint64_t step,
			  enum xd_idle_do *last_round)
{
	unsigned int n = 0;
	enum xd_idle_do d;

	xd_idle_busy(p);
	while ((d = xd_idle_next(p, t)) != XD_IDLE_SLEEP && n < 100000) {
		*last_round = d;
		n++;
		t += step;
	}
	return n;
}

static void test_rounds(void)
{
	struct xd_idle p;
	enum xd_idle_do d = XD_IDLE_SLEEP;
	unsigned int n;

	xd_idle_init(&p, 50 * US, true);
	CHECK(xd_idle_wake_cost(&p) == 50 * US,
	      "no wake-up measured yet: a sleep is assumed to cost spin_us");
	n = spell(&p, 1000, 100, &d);
	CHECK(n == XD_IDLE_ROUNDS && d == XD_IDLE_YIELD,
	      "an idle spell yields XD_IDLE_ROUNDS rounds, then sleeps (%u)",
	      n);
	n = spell(&p, 1000, 10 * US, &d);
	CHECK(n == 5, "and never polls longer than spin_us (%u rounds)", n);
	xd_idle_init(&p, 0, true);
	CHECK(xd_idle_next(&p, 5) == XD_IDLE_SLEEP, "spin_us 0: sleep at once");
}

static void test_wake_estimate(void)
{
	struct xd_idle p;
	int i;

	xd_idle_init(&p, 50 * US, true);
	xd_idle_kicked(&p, 4 * US);
	CHECK(xd_idle_wake_cost(&p) == 4 * US, "first sample taken as is");
	for (i = 0; i < 64; i++)
		xd_idle_kicked(&p, 2 * US);
	CHECK(xd_idle_wake_cost(&p) < 2200 && xd_idle_wake_cost(&p) >= 2000,
	      "the average follows the samples (%llu)",
	      (unsigned long long)xd_idle_wake_cost(&p));
	xd_idle_kicked(&p, 1000000 * US);
	CHECK(xd_idle_wake_cost(&p) < 9 * US,
	      "a huge sample counts as spin_us at most (%llu)",
	      (unsigned long long)xd_idle_wake_cost(&p));
	xd_idle_kicked(&p, 0);
	CHECK(xd_idle_wake_cost(&p) < 9 * US,
	      "an unmeasured kick leaves the estimate alone");
}

static void test_costly_yield(void)
{
	enum xd_idle_do d = XD_IDLE_SLEEP;
	struct xd_idle p;
	unsigned int n;
	int i;

	xd_idle_init(&p, 50 * US, true);
	xd_idle_kicked(&p, 3 * US);	/* a sleep costs 3 us here */
	xd_idle_woke(&p);
	CHECK(!xd_idle_yielded(&p, 2 * US) && xd_idle_may_yield(&p),
	      "a yield cheaper than a wake-up is worth it");
	CHECK(xd_idle_yielded(&p, 1500 * US) && !xd_idle_may_yield(&p),
	      "a 1.5 ms yield is not");
	n = spell(&p, 1, 50, &d);
	CHECK(n == XD_IDLE_ROUNDS && d == XD_IDLE_POLL,
	      "then idle rounds poll without yielding, then sleep");
	for (i = 0; i < 100; i++) {	/* timer wake-ups: nobody waited */
		xd_idle_woke(&p);
	}
	CHECK(!xd_idle_may_yield(&p), "timer wake-ups pay nothing back");
	for (i = 0; i < 400; i++) {	/* 400 kicks of 3 us: 1.2 ms */
		xd_idle_kicked(&p, 3 * US);
		xd_idle_woke(&p);
	}
	CHECK(!xd_idle_may_yield(&p),
	      "1.2 ms of wake-ups do not yet make up for a 1.5 ms yield");
	for (i = 0; i < 101; i++) {
		xd_idle_kicked(&p, 3 * US);
		xd_idle_woke(&p);
	}
	CHECK(xd_idle_may_yield(&p),
	      "once they have, yielding is tried again");
	CHECK(xd_idle_next(&p, 10) == XD_IDLE_YIELD, "and the rounds yield");

	/* Without a shared clock kicks count at the estimate (spin_us). */
	xd_idle_init(&p, 50 * US, true);
	CHECK(xd_idle_yielded(&p, 120 * US), "no estimate: dearer than 50 us");
	xd_idle_kicked(&p, 0);
	xd_idle_woke(&p);
	xd_idle_kicked(&p, 0);
	xd_idle_woke(&p);
	CHECK(!xd_idle_may_yield(&p), "two unmeasured kicks: 100 of 120 us");
	xd_idle_kicked(&p, 0);
	xd_idle_woke(&p);
	CHECK(xd_idle_may_yield(&p), "the third pays it off");
}

static void test_fixed(void)
{
	enum xd_idle_do d = XD_IDLE_SLEEP;
	struct xd_idle p;

	xd_idle_init(&p, 50 * US, false);
	CHECK(!xd_idle_yielded(&p, 10000 * US) && xd_idle_may_yield(&p),
	      "no adaptation: a dear yield changes nothing");
	CHECK(spell(&p, 1, 100, &d) == XD_IDLE_ROUNDS && d == XD_IDLE_YIELD,
	      "the rounds keep yielding");
}

int main(void)
{
	test_rounds();
	test_wake_estimate();
	test_costly_yield();
	test_fixed();
	return check_summary();
}
