/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The main loop's epoll registrations.  Whoever owns an fd embeds a
 * struct xd_watch in its object and names the function the loop calls
 * when the fd is ready; the loop knows nothing else about it.
 */
#ifndef XENIBD_LOOP_H
#define XENIBD_LOOP_H

#include <stdint.h>

struct xd_watch;
typedef void (*xd_watch_fn)(struct xd_watch *w, uint32_t events);

struct xd_watch {
	int fd;			/* -1 when not watched */
	xd_watch_fn fn;
	uint32_t events;	/* what it is watched for */
	uint64_t resume_ns;	/* paused until then (0: not paused) */
};

/* Watch fd for events (EPOLLIN...): fn(w, events) when ready. 0 or errno. */
int xd_loop_watch(struct xd_watch *w, int fd, uint32_t events, xd_watch_fn fn);
/* Watch a watched fd for other events. 0 or errno. */
int xd_loop_modify(struct xd_watch *w, uint32_t events);
void xd_loop_unwatch(struct xd_watch *w);
/*
 * Stop reporting w's events for ns nanoseconds, then watch it again as
 * before (xd_loop_run does).  For a level-triggered source that cannot be
 * served now, e.g. a listener while the process is out of fds, which would
 * otherwise wake the loop at once, forever.  0 or errno.
 */
int xd_loop_pause(struct xd_watch *w, uint64_t ns);
/*
 * Wait up to timeout (NULL: forever) and call the handlers of at most
 * XD_LOOP_BATCH ready fds, each once, so that no source starves the others.
 * Returns the number of events, or -1.
 */
#define XD_LOOP_BATCH	32
struct timespec;
int xd_loop_run(const struct timespec *timeout);

#endif /* XENIBD_LOOP_H */
