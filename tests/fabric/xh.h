/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The IB error cases of tests/neg between guests of two hosts
 * (xh_errors.c runs them, xh_cases.c has them): one process is the
 * server (the responder of most cases) on one host, the other the client
 * (the requester) on another; they talk over a TCP side channel
 * (tests/common/tcp_xchg.h), as ibv_rc_pingpong does.  Every case runs in
 * both processes, each judging its own side: a fresh RC QP pair, connected
 * with the addresses (LID, QPN, PSN, rkeys, buffer) they exchanged.
 */
#ifndef XENIB_TESTS_FABRIC_XH_H
#define XENIB_TESTS_FABRIC_XH_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/common/ib_ep.h"

#define XH_BUF_LEN	(8u << 20)	/* each side's buffer */
#define XH_DATA_LEN	(3u << 20)	/* the data cases: 3 requests of 1 MiB */
#define XH_READ_OFF	(3u << 20)	/* READ's source at the server */
#define XH_ATOMIC_OFF	(6u << 20)	/* an 8-byte word for the atomics */
#define XH_MR2_OFF	(7u << 20)	/* a case's second MR at the server */
#define XH_MR2_LEN	4096u
#define XH_SYNC_MS	60000		/* the other side's longest step */
/*
 * The transport timer of every case's QPs (not tests/neg's 4 ms x 3): a
 * 1 MiB response between two loaded hosts may take longer than that, and
 * no case here waits for a timeout (xh_retry.c sets its own).
 */
#define XH_TIMEOUT	16		/* 268 ms */
#define XH_RETRY_CNT	7

/* What one side tells the other of its endpoint. */
struct xh_info {
	bool ok;		/* its setup worked */
	struct ep_addr a;
	uint64_t addr, len;	/* its buffer */
	uint32_t rkey;
	uint64_t addr2;		/* the case's second MR (rkey2 0: none) */
	uint32_t rkey2;
};

struct xh;

struct xh_case {
	const char *name;
	void (*run)(struct xh *x);
	int arg;			/* the case's own parameter */
	/* Connection options of the server's / client's QP (on dflt). */
	void (*opts)(const struct xh *x, struct qp_opts *o);
	unsigned int mr2_access;	/* server's second MR; 0: none */
};

struct xh {
	bool server;
	int fd;				/* the side channel */
	struct side s;
	struct ep e;			/* the case's endpoint */
	struct ibv_mr *mr2;
	struct xh_info me, peer;
	struct qp_opts o;		/* of e */
	const struct xh_case *c;
};

extern const struct xh_case xh_cases[];
extern const unsigned int xh_ncases;

/*
 * Fresh endpoints for case c on both sides, connected to each other;
 * false (after a FAIL line) if either side's setup failed.  Teardown
 * destroys them.
 */
bool xh_setup(struct xh *x, const struct xh_case *c);
void xh_teardown(struct xh *x);
/* The client names the next case (id, its argument) to the server. */
void xh_start_case(struct xh *x, uint32_t id, uint64_t arg);

/* xh_retry.c: the responder's host taken away (the script does it). */
#define XH_RETRY_CASE	0xffffu
struct xh_retry {
	uint8_t timeout, retry_cnt;	/* the requester QP's */
	bool partition;		/* away for less than the budget */
	const char *trigger;	/* the script creates it once host is away */
};
void xh_retry_client(struct xh *x, const struct xh_retry *r);
/* Never returns: what xenibd held may be gone. */
void xh_retry_server(struct xh *x, uint64_t arg) __attribute__((noreturn));

/*
 * Both sides pass the same tag, each at its own point of a case: the
 * one that gets there first waits for the other (XH_SYNC_MS).  A side
 * channel out of step ends the program (nothing after it can be judged).
 */
void xh_sync(struct xh *x, uint32_t tag);
/* One side tells the other a value under tag. */
void xh_put(struct xh *x, uint32_t tag, uint64_t val);
uint64_t xh_get(struct xh *x, uint32_t tag);

/* Fill n bytes at p with the pattern of seed; does p hold it? */
void xh_fill(void *p, uint64_t n, uint64_t seed);
bool xh_holds(const void *p, uint64_t n, uint64_t seed);

#endif /* XENIB_TESTS_FABRIC_XH_H */
