// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The SIGBUS guard (emu_guard.h).
 *
 * The table is a fixed array of slots read by the signal handler without
 * locks: a slot is published by storing hi last (release) and retired by
 * clearing hi first, so the handler (acquire) never sees a half-written
 * range.  Adding and removing happen on xenibd's loop thread only; the
 * handler may run on any thread.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "util/rawsys.h"
#include "xenibd/transport/emu_guard.h"

#define GUARD_SLOTS	8192u

struct slot {
	uintptr_t lo, hi;	/* hi == 0: free */
	size_t page;
	int hit;
};

static struct slot slots[GUARD_SLOTS];
static unsigned int used;		/* slots below this may be in use */
static struct sigaction prev;
static bool installed;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	unsigned int i, n = __atomic_load_n(&used, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++) {
		uintptr_t hi = __atomic_load_n(&slots[i].hi, __ATOMIC_ACQUIRE);
		uintptr_t lo = slots[i].lo, p;
		size_t page = slots[i].page;

		if (!hi || a < lo || a >= hi)
			continue;
		p = a & ~(uintptr_t)(page - 1);
		/* A zero page over the missing one; the access then completes. */
		if (raw_mmap((void *)p, page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			     0) != MAP_FAILED) {
			__atomic_store_n(&slots[i].hit, 1, __ATOMIC_RELAXED);
			return;
		}
		break;
	}
	/* Not ours: what was there before, the default for a fault. */
	if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
		prev.sa_sigaction(sig, si, uc);
		return;
	}
	if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
		prev.sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);	/* the access faults again, and kills us */
}

static int install(void)
{
	struct sigaction sa;

	if (installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev))
		return errno;
	installed = true;
	return 0;
}

int xd_guard_add(void *va, size_t len, size_t page)
{
	unsigned int i;
	int err = install();

	if (err)
		return err;
	for (i = 0; i < GUARD_SLOTS; i++) {
		if (slots[i].hi)
			continue;
		slots[i].lo = (uintptr_t)va;
		slots[i].page = page ? page : 4096;
		slots[i].hit = 0;
		if (i >= used)
			__atomic_store_n(&used, i + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&slots[i].hi, (uintptr_t)va + len,
				 __ATOMIC_RELEASE);
		return 0;
	}
	return ENOSPC;
}

bool xd_guard_del(void *va)
{
	unsigned int i;

	for (i = 0; i < used; i++) {
		if (!slots[i].hi || slots[i].lo != (uintptr_t)va)
			continue;
		__atomic_store_n(&slots[i].hi, 0, __ATOMIC_RELEASE);
		return __atomic_load_n(&slots[i].hit, __ATOMIC_RELAXED);
	}
	return false;
}
