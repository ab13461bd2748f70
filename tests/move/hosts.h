/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fake hosts for the guest side of a move (tests/move/test_move.c): in the
 * test's own process, a thread plays the source and the destinations of
 * the emulation's MOVE (xenib-abi.h) around a real xenibd.
 *
 *  - The source listens where the guest looks for xenib0 and passes every
 *    context's control messages on to its own connection to the real
 *    xenibd, except BIND_NOTIFY of the HV kind, which it answers itself
 *    (today's xenibd does not know it), keeping the backend end: that is
 *    where it sends MOVE.  It puts itself between xenibd and every other
 *    notifier (a socket pair of its own each way), and keeps a copy of
 *    every region's memfd.
 *  - A move: the source holds the context's next request unanswered (or
 *    none), sends MOVE on the HV notifier with a token and a destination's
 *    socket, and closes the guest's control socket.  The destination
 *    accepts the guest's new connection, checks TAKEOVER, every
 *    RESUME_REGION (the very memfd, same pages), every RESUME_NOTIFY (a
 *    notifier end), the HV one last, RESUME_DONE, and from then on passes
 *    the context's messages on to the same xenibd connection, its
 *    notifiers through the new ends: the context keeps all its objects and
 *    traffic flows again.  Destinations can also refuse or stay silent.
 */
#ifndef XENIB_TESTS_MOVE_HOSTS_H
#define XENIB_TESTS_MOVE_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dest_mode {
	DEST_OK,		/* takes the context over */
	DEST_REFUSE_TAKEOVER,	/* answers TAKEOVER with EPERM */
	DEST_REFUSE_REGION,	/* answers the first RESUME_REGION with EINVAL */
	DEST_SILENT,		/* reads TAKEOVER, never answers */
	DEST_ABSENT,		/* nobody listens at the MOVE's path */
};

/* What the hosts saw of one context (hosts_report). */
struct move_report {
	int moves;		/* takeovers completed (RESUME_DONE answered) */
	bool takeover;		/* the last move's TAKEOVER arrived, checked */
	bool done;		/* the last move's RESUME_DONE arrived */
	bool refused;		/* the destination refused or went silent */
	int regions, regions_resumed;	/* known / resumed in the last move */
	int notifies, notifies_resumed;
	bool hv_resumed;
	unsigned int held;	/* requests the source held unanswered */
	uint16_t held_op;
	unsigned int held_at_dest;	/* times it reached the destination */
	unsigned int requests;	/* requests passed on since the last move */
	bool dead;		/* xenibd or the guest closed the context */
	char err[512];		/* what a host found wrong, "" if nothing */
};

struct hosts;

/*
 * Start the hosts: the source listens at guest_dir/xenib0.sock and
 * reaches xenibd at xenibd_dir/xenib0.sock.  NULL on error.
 */
struct hosts *hosts_start(const char *xenibd_dir, const char *guest_dir);
void hosts_stop(struct hosts *h);

/*
 * The context that bound its HV notifier last (-1: none); *binds (if not
 * NULL) counts the bindings so far.
 */
int hosts_last_ctx(struct hosts *h, unsigned int *binds);
/* Hold context k's next request, then move it to a destination in mode. */
int hosts_move_on_next(struct hosts *h, int k, enum dest_mode mode);
/* Move context k now (no request held). */
int hosts_move_now(struct hosts *h, int k, enum dest_mode mode);
/* A raw datagram on context k's HV notifier (malformed MOVEs). */
int hosts_hv_send(struct hosts *h, int k, const void *buf, size_t len);
/* Close context k's control socket without a MOVE: its backend "died". */
int hosts_kill(struct hosts *h, int k);
int hosts_report(struct hosts *h, int k, struct move_report *r);
/*
 * Signal context k's notifier of kind from the backend's side: its end
 * now (old = false) or the one before the last move (old = true).
 * 0 or the send's errno.
 */
int hosts_signal(struct hosts *h, int k, uint32_t kind, bool old);
/*
 * The inode of context k's backend end of its notifier of kind, now or
 * before the last move (0: none).  The guest keeps a copy of that end to
 * signal its own (the provider's self end): after a move the copy must be
 * of the new end.
 */
unsigned long hosts_notify_ino(struct hosts *h, int k, uint32_t kind,
			       bool old);
/* Doorbell kicks that reached the hosts since the last move. */
unsigned int hosts_kicks(struct hosts *h, int k);
/* backend_sleeping in context k's context page (-1: unknown). */
int hosts_backend_sleeping(struct hosts *h, int k);
/*
 * Does one region resumed in context k's last move have npages pages equal
 * to [va, va + npages * 4096) (the guest's own memory)?  Returns its fd
 * (a dup, the caller closes it) and in *offset where the pages are in it,
 * or -1.
 */
int hosts_find_resumed(struct hosts *h, int k, const void *va,
		       uint32_t npages, uint64_t *offset);

#endif /* XENIB_TESTS_MOVE_HOSTS_H */
