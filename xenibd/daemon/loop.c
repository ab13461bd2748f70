// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The main loop's epoll registrations (loop.h). */
#include <errno.h>
#include <time.h>
#include <sys/epoll.h>

#include "xenibd/dev/dev.h"
#include "xenibd/daemon/loop.h"

/* No loop (unit tests, fuzzers): registrations only record the fd. */
static bool no_loop(void)
{
	return xd.epfd <= 0;
}

/* Watches paused by xd_loop_pause (a few listeners at most). */
#define XD_LOOP_MAX_PAUSED	8
static struct xd_watch *paused[XD_LOOP_MAX_PAUSED];
static unsigned int npaused;

int xd_loop_watch(struct xd_watch *w, int fd, uint32_t events, xd_watch_fn fn)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->fn = fn;
	w->events = events;
	w->resume_ns = 0;
	if (no_loop())
		return 0;
	if (epoll_ctl(xd.epfd, EPOLL_CTL_ADD, fd, &ev)) {
		w->fd = -1;
		return errno;
	}
	return 0;
}

static int epoll_mod(struct xd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (no_loop() || w->fd < 0)
		return 0;
	return epoll_ctl(xd.epfd, EPOLL_CTL_MOD, w->fd, &ev) ? errno : 0;
}

int xd_loop_modify(struct xd_watch *w, uint32_t events)
{
	w->events = events;
	return w->resume_ns ? 0 : epoll_mod(w, events);	/* on resume */
}

static void unpause(struct xd_watch *w)
{
	int i;

	for (i = 0; i < XD_LOOP_MAX_PAUSED; i++)
		if (paused[i] == w) {
			paused[i] = NULL;
			npaused--;
		}
	w->resume_ns = 0;
}

int xd_loop_pause(struct xd_watch *w, uint64_t ns)
{
	int i, free_slot = -1, err;

	if (w->fd < 0)
		return EBADF;
	for (i = 0; i < XD_LOOP_MAX_PAUSED; i++) {
		if (paused[i] == w)
			break;
		if (!paused[i] && free_slot < 0)
			free_slot = i;
	}
	if (i == XD_LOOP_MAX_PAUSED) {
		if (free_slot < 0)
			return ENOSPC;
		i = free_slot;
	}
	err = epoll_mod(w, 0);
	if (err)
		return err;
	if (paused[i] != w)
		npaused++;
	paused[i] = w;
	w->resume_ns = xd_now_ns() + (ns ? ns : 1);
	return 0;
}

/* Watch again what is due; the next resume time, or UINT64_MAX. */
static uint64_t resume_due(void)
{
	uint64_t now, next = UINT64_MAX;
	int i;

	if (!npaused)
		return next;	/* the usual case: no clock read */
	now = xd_now_ns();
	for (i = 0; i < XD_LOOP_MAX_PAUSED; i++) {
		struct xd_watch *w = paused[i];

		if (!w)
			continue;
		if (w->resume_ns <= now) {
			unpause(w);
			epoll_mod(w, w->events);
		} else if (w->resume_ns < next) {
			next = w->resume_ns;
		}
	}
	return next;
}

/*
 * The events of the batch being dispatched: a handler may free another
 * watch's object (a context closing takes its doorbell with it) whose
 * event is still further down the batch.
 */
static struct epoll_event *batch;
static int batch_len;

void xd_loop_unwatch(struct xd_watch *w)
{
	int i;

	if (!no_loop() && w->fd >= 0)
		epoll_ctl(xd.epfd, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->resume_ns)
		unpause(w);
	w->fd = -1;
	for (i = 0; i < batch_len; i++)
		if (batch[i].data.ptr == w)
			batch[i].data.ptr = NULL;
}

int xd_loop_run(const struct timespec *timeout)
{
	struct epoll_event evs[XD_LOOP_BATCH];
	uint64_t next = resume_due();
	struct timespec ts;
	int i, n;

	/* Wake up for the next resume at the latest. */
	if (next != UINT64_MAX) {
		uint64_t now = xd_now_ns(), d = next > now ? next - now : 0;

		if (!timeout || (uint64_t)timeout->tv_sec * 1000000000ull +
				(uint64_t)timeout->tv_nsec > d) {
			ts.tv_sec = d / 1000000000ull;
			ts.tv_nsec = d % 1000000000ull;
			timeout = &ts;
		}
	}
	n = epoll_pwait2(xd.epfd, evs, XD_LOOP_BATCH, timeout, NULL);
	batch = evs;
	batch_len = n > 0 ? n : 0;
	for (i = 0; i < batch_len; i++) {
		struct xd_watch *w = evs[i].data.ptr;

		if (w)
			w->fn(w, evs[i].events);
	}
	batch_len = 0;
	batch = NULL;
	return n;
}
