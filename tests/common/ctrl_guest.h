/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hostile guests on xenibd's control channel (DESIGN.md section 6,
 * invariant 1), for the programs of tests/ctrl: a channel (wire_guest.h)
 * that a case can put in the state it needs (fresh, after HELLO, with a
 * context page, a data region, a PD), and the verdict on a request that
 * must be refused: a response, the echoed seq, a non-zero status.  A
 * channel the backend closes after answering is reopened for the next
 * case (closing a misbehaving guest is allowed; not answering is not).
 *
 * Each program prints one line per case, "error replies: N" (what
 * tests/test_ctrl_malformed.sh expects xenibd to have logged) and
 * "N passed, N failed".
 */
#ifndef XENIB_TESTS_CTRL_GUEST_H
#define XENIB_TESTS_CTRL_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "tests/common/wire_guest.h"

#define RESP_TIMEOUT_MS	5000
#define BOGUS		12345u
#define DATA_PAGES	256u	/* 1 MiB: room for XENIB_MAX_MR_SEGS + 1 pages */

struct conn {
	const char *label;	/* for messages */
	const char *guest;	/* guest_name in HELLO */
	struct wg g;		/* the channel; g.sock < 0 when closed */
	int hello;
	int ctx_done;
	uint32_t ctx_region;	/* handle of the context page region */
	uint32_t pd;		/* XENIB_INVALID_HANDLE if none */
	uint32_t region;	/* data region (DATA_PAGES pages) */
	struct hv_shm ctx_shm, data_shm;
	struct xenib_hello_resp hello_resp;	/* of the last HELLO */
};

#define CONN(lbl, name) { .label = (lbl), .guest = (name), .g.sock = -1,  \
			  .ctx_shm = { .fd = -1 }, .data_shm = { .fd = -1 } }

/*
 * The program: open guest A's channel (before HELLO), run the cases on
 * guests A and B, close both, check that a fresh guest is still served,
 * print the summary.  argv: [RUN_DIR] (default $XENIB_EMU_DIR).
 */
int ctrl_main(int argc, char **argv,
	      void (*cases)(struct conn *a, struct conn *b));

void report(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *errname(uint32_t e);
/* A header with the next seq (a case frames the rest as it likes). */
void hdr_init(void *msg, uint16_t op, uint32_t len);

void conn_close(struct conn *c);
/* Messages nobody asked for mean the request/response pairing is broken. */
void drain_unsolicited(struct conn *c, int wait_ms);
int conn_open(struct conn *c, int hello);
/* HELLO on c's open channel: 0 or the failure; c->hello_resp its answer. */
int do_hello(struct conn *c);
/* Make the channel be in the state a case needs: fresh, or after HELLO. */
int ensure(struct conn *c, int hello);
/* After HELLO, with the context page (the provider's order) ... */
int get_ctx(struct conn *c);
/* ... and with the data region, or a PD: 0 or the failure. */
int get_region(struct conn *c);
int get_pd(struct conn *c);
int alloc_pd(struct conn *c, uint32_t *pd);
/* A request of struct xenib_handle_req that must succeed. */
int handle_op(struct conn *c, uint16_t op, uint32_t handle);
/* A REG_MR (from build_reg_mr) that must succeed; *lkey the key. */
int reg_mr(struct conn *c, void *msg, size_t len, uint32_t *lkey);
/* REG_MR message with room for nsegs_room segments: its length. */
size_t build_reg_mr(void *buf, uint32_t pd, uint64_t iova, uint64_t length,
		    uint32_t nsegs, uint32_t nsegs_room, uint32_t region,
		    uint64_t seg_off, uint64_t seg_len);

#define ANY_ERR		0
#define NO_SEQ		0x1	/* unframeable: seq cannot be echoed */
#define OPCODE0		0x2	/* ... and the reply carries opcode 0 */

/*
 * Send msg; it must be refused: a response, echoed seq (unless NO_SEQ),
 * non-zero status, equal to want unless want == ANY_ERR.
 */
void refused(struct conn *c, const char *name, const void *msg, size_t len,
	     int pass_fd, uint32_t want, unsigned int fl);
/* A setup step failed: the case cannot be judged, which is a failure. */
void setup_failed(const char *name, const char *what, int err);

#endif /* XENIB_TESTS_CTRL_GUEST_H */
