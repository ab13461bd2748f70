/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A guest that speaks the wire ABI (kernel-headers/rdma/xenib-abi.h)
 * directly, without libibverbs or the provider, so hostile-guest tests can
 * write exactly the bytes an attacker would: the control channel, shared
 * regions, notifiers and raw ring entries.  Emulated hypervisor only.
 */
#ifndef XENIB_TESTS_WIRE_GUEST_H
#define XENIB_TESTS_WIRE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>

#include "util/hv.h"

struct wg {
	int sock;		/* control channel */
	int db_guest;		/* our end of the doorbell */
	int async_guest;	/* our end of the async notifier */
	uint32_t seq;
	uint16_t lid;
	struct hv_shm page;	/* context page */
	uint32_t page_h, db, async;	/* their handles */
	unsigned long requests, refused;	/* answered requests */
	int status;		/* of the last request: 0, errno, -1 (none) */
};

/* Connect to xenib0, HELLO as name, map the context page, bind notifiers. */
int wg_open(struct wg *g, const char *name);
void wg_close(struct wg *g);
/* Only the first steps of wg_open: connect (0 or -errno; nothing sent) */
int wg_connect(struct wg *g);
/* ... and HELLO as name: wg_cmd's result; *hr (if not NULL) the response. */
int wg_hello(struct wg *g, const char *name, struct xenib_hello_resp *hr);

/*
 * The exchange under every request, for a guest that frames its own
 * bytes: send exactly len bytes of msg (with fd, or -1) on sock and take
 * one message of at most rlen bytes into resp within ms (an fd that comes
 * with it is closed).  The response's length, or -errno: -ETIMEDOUT (no
 * answer), -ECONNRESET (closed without one), the send's error.
 */
ssize_t wg_exchange(int sock, const void *msg, size_t len, int fd,
		    void *resp, size_t rlen, int ms);

/*
 * One request, one response within 5 s: the response's status (0 or an
 * errno), or -1 if the channel broke.  fd (or -1) travels with the request;
 * at most rlen bytes of the response are copied to resp.
 */
int wg_cmd(struct wg *g, void *req, size_t len, int fd, void *resp,
	   size_t rlen);
/* A request whose response is struct xenib_handle_resp: the handle. */
uint32_t wg_cmd_handle(struct wg *g, void *req, size_t len, int fd);
/* A request of struct xenib_handle_req (destroy/dealloc opcodes). */
int wg_handle_cmd(struct wg *g, uint16_t op, uint32_t handle);

uint32_t wg_map_region(struct wg *g, struct hv_shm *m, uint32_t flags);
uint32_t wg_bind(struct wg *g, uint32_t kind, int *guest_end);
uint32_t wg_alloc_pd(struct wg *g);
uint32_t wg_create_cq(struct wg *g, uint32_t region, uint32_t entries,
		      uint64_t offset);
/* Register [iova, iova + len) of region (offset 0) in pd; the lkey. */
uint32_t wg_reg_mr(struct wg *g, uint32_t pd, uint32_t region, uint64_t iova,
		   uint64_t len, uint32_t access);
int wg_modify(struct wg *g, uint32_t qpn, uint32_t mask,
	      const struct xenib_qp_attr *a);
/* QUERY_QP: the QP's state, or -1. */
int wg_qp_state(struct wg *g, uint32_t qpn);
/*
 * RESET -> INIT -> RTR -> RTS towards (dest, dlid) with the attribute sets
 * of the QP's type (xrc: XRC_SEND / XRC_RECV sets), failing fast (timeout 1,
 * no retries).  0 if it got there.
 */
int wg_connect_qp(struct wg *g, uint32_t qpn, uint32_t type, uint32_t dest,
		  uint16_t dlid);

/* Publish our new producer index of a ring and kick the backend. */
void wg_publish(struct wg *g, struct xenib_ring_hdr *h, uint32_t prod);

#endif /* XENIB_TESTS_WIRE_GUEST_H */
