/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The fake hosts' insides (hosts.c: the loop and the source; dest.c). */
#ifndef XENIB_TESTS_MOVE_HOSTS_INT_H
#define XENIB_TESTS_MOVE_HOSTS_INT_H

#include <pthread.h>
#include <sys/un.h>

#include <rdma/xenib-abi.h>

#include "tests/move/hosts.h"

#define H_MAX_CTX	16
#define H_MAX_REG	64
#define H_MAX_NOT	16
#define H_HV_HANDLE	0x00485601u	/* what the source calls the HV one */

/* A notifier xenibd holds, with the hosts in between. */
struct hnot {
	uint32_t handle, kind;
	int px;		/* ours, paired with the end xenibd holds */
	int gb;		/* the backend end the guest's end is paired with */
	int old_gb;	/* the one before the last move */
	int new_gb;	/* from RESUME_NOTIFY until RESUME_DONE */
	int resumed;	/* RESUME_NOTIFYs in this move */
	unsigned int kicks;
};

struct hreg {
	uint32_t handle, npages, flags;
	uint64_t offset;	/* MAP_REGION's, into the object */
	int fd;		/* copy of the memfd MAP_REGION passed */
	int res_fd;	/* copy of the fd the last RESUME_REGION passed */
	int resumed;
};

enum tstate {
	T_NONE,		/* served by the source, or not moving */
	T_WAIT,		/* MOVE sent, waiting for the guest's connection */
	T_TAKEOVER,	/* connected, TAKEOVER next */
	T_RESUMING,
	T_DONE,		/* taken over: passed on to xenibd again */
	T_REFUSED,
};

struct hctx {
	bool used;
	int x;		/* connection to xenibd, for the context's life */
	int g;		/* the guest's control socket now, or -1 */
	int listen;	/* a destination's listening socket, or -1 */
	enum tstate t;
	enum dest_mode mode;
	bool hold;	/* hold the next request, then move */
	char token[XENIB_TOKEN_LEN];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int hv_b, hv_new;
	bool hv_resumed;
	struct hreg regs[H_MAX_REG];
	int nregs;
	struct hnot nots[H_MAX_NOT];
	int nnots;
	/* The request passed on to xenibd, until its answer. */
	bool fwd;
	uint16_t fwd_op;
	uint32_t fwd_seq, fwd_kind, fwd_npages, fwd_flags, fwd_handle;
	uint64_t fwd_offset;
	int fwd_fd, fwd_px;
	/* What the report says. */
	int moves;
	unsigned int held, held_at_dest, requests;
	uint16_t held_op;
	uint32_t held_seq;
	bool takeover, done, dead;
	char err[512];
};

struct hosts {
	pthread_mutex_t lock;
	pthread_t th;
	bool stop;
	int wake[2];
	int listen;		/* the source's xenib0.sock */
	char xsock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char gdir[sizeof(((struct sockaddr_un *)0)->sun_path) - 32];
	struct hctx ctx[H_MAX_CTX];
	int last_hv;
	unsigned int hv_binds;
	unsigned int ntokens;
};

/* hosts.c */
void h_err(struct hctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A bare answer to (op, seq) with status on the guest's socket. */
void h_answer(struct hctx *c, uint16_t op, uint32_t seq, uint32_t status);
void h_close(int *fd);
/* h->lock held: send MOVE to a new destination, close the guest's socket. */
void h_move(struct hosts *h, struct hctx *c);

/* dest.c: a message on a destination's connection before RESUME_DONE. */
void dest_msg(struct hctx *c, const void *msg, ssize_t n, int fd);

#endif /* XENIB_TESTS_MOVE_HOSTS_INT_H */
