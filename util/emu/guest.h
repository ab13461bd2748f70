/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The embedded emulation as the provider's hypervisor: what the files of
 * util/emu/ that implement util/hv_guest.h share.  Nothing here is seen by
 * the provider.
 *
 * A context can move between hosts' backends (xenib-abi.h, "MOVE";
 * docs/migration.md).  For that each connection keeps the books the move
 * needs: the regions it mapped (their objects' fds, borrowed from struct
 * hv_shm, or SysV ids), the notifiers it bound (the fd numbers the
 * provider and the application hold) and its own HV notifier, on which
 * the backend sends the MOVE datagram.
 *
 * Threads: the provider's threads call the ops (guest.c); one relay thread
 * per process (relay.c; a forked child starts its own for its own
 * contexts) polls every connection's HV notifier and runs the moves
 * (move.c).  emu.lock guards every connection's books and state;
 * emu.cond announces the end of a move and the provider's progress a move
 * waits for.  Lock order: the provider's control lock (held around
 * region_done and notify_bound) before emu.lock.
 *
 * Files: guest.c (the ops table, connections, books), relay.c (the relay
 * thread, MOVE datagrams, the hang-up question), move.c (the reconnection:
 * TAKEOVER, RESUME_*, the fd swap), call.c (one bounded request/answer).
 */
#ifndef XENIB_UTIL_EMU_GUEST_H
#define XENIB_UTIL_EMU_GUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <rdma/xenib-abi.h>

#include "util/hv_guest.h"
#include "util/list.h"

/* Bound of one whole move, and of the HV binding's answer. */
#define EMU_MOVE_TIMEOUT_MS	10000	/* XENIB_EMU_MOVE_TIMEOUT_MS */
#define EMU_RELAY_SEQ		0x80000000u	/* seq of our own requests */

#define emu_dbg(fmt, ...)						\
	do {								\
		if (emu.debug)						\
			fprintf(stderr, "xenib[%d]: " fmt "\n",		\
				(int)getpid(), ##__VA_ARGS__);		\
	} while (0)
#define emu_err(fmt, ...) \
	fprintf(stderr, "xenib: " fmt "\n", ##__VA_ARGS__)

/* A region as MAP_REGION announced it (hv_shm.priv while published). */
struct emu_region {
	struct list_node link;	/* conn->regions while tracked */
	struct emu_conn *conn;	/* NULL: not tracked */
	uint32_t handle;
	uint32_t npages;
	int fd;			/* the shm's object (hv_shm.fd, not ours), or -1 */
	int shmid;		/* with no fd: the SysV segment named, or -1 */
};

/* A notifier the backend holds an end of. */
struct emu_notify {
	struct list_node link;	/* conn->notifies */
	uint32_t kind;
	uint32_t handle;
	int guest_fd;		/* our end's number (doorbell: conn's) */
	int self_fd;		/* the caller's copy of the backend end, or -1 */
	int new_guest, new_back;	/* the pair made for a move, or -1 */
};

enum emu_mstate {
	EMU_IDLE,
	EMU_PENDING,		/* MOVE accepted, the relay runs it next */
	EMU_MOVING,
};

struct emu_conn {
	struct hv_conn hv;		/* hv_emu_guest_ops */
	struct list_node link;		/* emu.conns once its HV is bound */
	bool listed;
	int sock;		/* the control socket's number (the provider's) */
	int doorbell_fd;	/* our end of the guest -> backend kick */
	struct emu_notify *doorbell;	/* its books, or NULL */
	int hv_fd;		/* our end of the HV notifier, or -1 */
	uint32_t hv_handle;
	bool hv_tried;		/* the first region (context page) was mapped */
	char guest[64];		/* the name HELLO sent */
	char dev[32];		/* device name, for messages */
	struct list_node regions;	/* struct emu_region.link */
	struct list_node notifies;	/* struct emu_notify.link */
	/* The provider's progress a move must wait for (relay.c). */
	unsigned int publishing;	/* region/notifier announced, not done */
	unsigned int unanswered;	/* hangup() callers whose request hung */
	unsigned int waiters;		/* hangup() callers */
	enum emu_mstate mstate;
	struct xenib_emu_move move;	/* the accepted MOVE */
	unsigned int moves;		/* completed */
	bool dead;		/* a move failed: the backend is gone for us */
	bool unmovable;		/* books incomplete (out of memory) */
	bool gone;		/* disconnected during a move: relay frees it */
	uint32_t relay_seq;
};

struct emu_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC */
	pthread_once_t once;
	int wake[2];			/* pipe: the relay looks again */
	struct list_node conns;		/* struct emu_conn.link */
	int timeout_ms;
	bool debug;
};
extern struct emu_state emu;

static inline struct emu_conn *to_emu(struct hv_conn *c)
{
	return container_of(c, struct emu_conn, hv);
}

/* relay.c */
void emu_init(void);		/* once: state, debug flag, timeout */
int emu_relay_start(void);	/* the relay thread, once per process */
void emu_wake_relay(void);
/* emu.lock held: take the MOVE datagrams queued on c's HV notifier. */
void emu_move_intake(struct emu_conn *c);
int emu_hangup(struct hv_conn *conn, int sock, unsigned int flags);

/* call.c: an absolute CLOCK_MONOTONIC deadline ms from now; ms left. */
struct timespec emu_deadline(int ms);
int emu_ms_left(const struct timespec *deadline);

/* move.c: emu.lock held, relay thread, c->mstate == EMU_PENDING. */
void emu_move_run(struct emu_conn *c);
/* guest.c: emu.lock held; c is not listed any more. */
void emu_conn_free(struct emu_conn *c);

/* move.c: bind c's HV notifier on its control socket (context page mapped). */
void emu_hv_bind(struct emu_conn *c);

/*
 * call.c: one request of our own on sock (header filled here: opcode, seq,
 * length), answered within the deadline: 0, the backend's errno (answers
 * with a status may be bare), or ETIMEDOUT/EPROTO/a socket error.
 */
int emu_call(int sock, uint32_t seq, uint16_t opcode, void *req, size_t len,
	     int pass_fd, void *resp, size_t resp_len,
	     const struct timespec *deadline);

#endif /* XENIB_UTIL_EMU_GUEST_H */
