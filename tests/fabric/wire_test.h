/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* wire_test's shared parts: the test protocol and the helpers both halves
 * (wire_test.c: callbacks and checks, wire_test_flows.c: scenarios) use. */
#ifndef TESTS_FABRIC_WIRE_TEST_H
#define TESTS_FABRIC_WIRE_TEST_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "xenibd/fabric/wire.h"

#define T_MAGIC		0x54455354u
#define BIG		(64u << 20)
#define PAT_SLACK	8192u
#define RX_MAX		(BIG + PAT_SLACK)

/* START: the sender's sequence numbers restart at seq (after a reconnect
 * the receiver may or may not have seen its peer go down). */
enum { K_DATA = 1, K_DROP, K_DONE, K_REPORT, K_START };

/* The user header of every test message, padded up to the sent length
 * with bytes (seq + index). */
struct thdr {
	uint32_t magic, kind;
	uint64_t seq;		/* per sender's peer object, from 0 */
	uint64_t len;		/* payload bytes */
	uint64_t off;		/* payload = pattern from this offset */
	uint64_t a, b;		/* REPORT: messages checked, errors */
};

struct opts {
	uint32_t id, peer_id;
	const char *listen, *peer_addr, *mode;
	uint64_t epoch;
	unsigned int ka, misses, hello, max_inflight, max_pending, timeout;
	unsigned int cycles;
	uint32_t refuse[8];
	int nrefuse;
};

/* What one side knows about one peer object (its xw_peer_arg). */
struct pst {
	uint64_t expect;	/* next sequence number */
	uint64_t ok, errors, dropped;
	uint64_t lost;		/* receives that failed as the peer went */
	unsigned int pending_rx;
	int done_seen;		/* DONE arrived, REPORT due when rx drained */
	unsigned int reports_sent;
	int report_seen;
	uint64_t rep_ok, rep_errors;
	uint64_t tx_seq;
};

extern struct opts o;
extern struct xw_ctx *ctx;
extern uint8_t *pat_buf;
extern uint64_t g_errors;
extern volatile sig_atomic_t g_stop;
extern int g_ups, g_downs, g_last_err;
extern struct xw_peer *g_peer;		/* the client's peer */
extern unsigned int g_inflight;		/* sends not done */
extern uint64_t g_send_errors;
extern int g_drop_status[2];		/* done status of the two drops */

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); \
		       fflush(stdout); g_errors++; } while (0)
#define PASS(...) do { printf("PASS: " __VA_ARGS__); printf("\n"); \
		       fflush(stdout); } while (0)

uint64_t now_ms(void);
void run_once(int wait_ms);
#define WAIT_FOR(cond, ms) ({						\
	uint64_t _dl = now_ms() + (ms);					\
	while (!(cond) && now_ms() < _dl && !g_stop)			\
		run_once(50);						\
	!!(cond);							\
})

void pat_init(void);
void log_cb(void *arg, const char *msg);
int auth_cb(void *arg, uint32_t host_id, uint64_t epoch,
	    const struct sockaddr *sa, socklen_t len);
void peer_up_cb(void *arg, struct xw_peer *p);
void peer_down_cb(void *arg, struct xw_peer *p, int err);
void recv_cb(void *arg, struct xw_peer *p, const void *hdr, size_t hdr_len,
	     struct xw_rx *rx);
void send_done(void *arg, int status);
void drop_done(void *arg, int status);
int send_msg(struct xw_peer *p, uint32_t kind, size_t len, int nseg,
	     size_t hdr_len, unsigned int flags, xw_done_cb done, void *arg);
int send_w(struct xw_peer *p, uint32_t kind, size_t len, int nseg,
	   size_t hdr_len, unsigned int flags, unsigned int window);
uint64_t rnd(void);
size_t mixed_len(void);
int wait_report(struct xw_peer *p, uint64_t want_ok, const char *what);

#endif /* TESTS_FABRIC_WIRE_TEST_H */
