/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A fake inter-host wire: the API of xenibd/fabric/wire.h without UCX,
 * linked instead of the real wire library (xenib_fabric_wire) into
 * programs that drive xenibd's fabric in-process (fuzz/fuzz_fabric.c).
 * It keeps the contract of wire.h that the fabric relies on: callbacks
 * only from "progress" (xw_progress, or the fw_* calls below, which stand
 * for what UCX's progress would deliver), never from inside xw_send,
 * xw_rx_into, xw_connect or xw_peer_close; every done callback exactly
 * once, before the peer's peer_down; a payload claimed only during recv.
 *
 * The program plays the remote hosts: it says HELLO for one (ops->auth
 * decides), delivers messages from it, completes the sends xenibd made
 * and lands rendezvous payloads when it chooses, or makes a peer fail.
 * Every send is recorded (its header) so that the program can answer it.
 * A send's payload is read when it completes and a landing's buffers are
 * written when it lands: a buffer freed too early is a use after free the
 * sanitizers see.
 */
#ifndef XENIB_FAKE_WIRE_H
#define XENIB_FAKE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenibd/fabric/wire.h"

/* One xw_send, as recorded. */
struct fw_send {
	uint32_t host_id;	/* of the peer it went to */
	size_t hdr_len, len;	/* header, payload bytes */
	uint8_t hdr[XW_HDR_MAX];
	bool pending;		/* done not called yet */
};

/* The context xw_new made (one at a time), or NULL. */
struct xw_ctx *fw_ctx(void);

/* Sends recorded since the last fw_log_clear (pending or not). */
unsigned int fw_nsent(void);
const struct fw_send *fw_sent(unsigned int i);
/* Forget the completed sends of the log (pending ones stay). */
void fw_log_clear(void);

/* Payload bytes of the sends and landings not completed yet: buffers the
 * program gave the wire and cannot reuse until then. */
uint64_t fw_pending_bytes(void);

/* Sends whose done was not called yet; complete the i-th (oldest first). */
unsigned int fw_pending_sends(void);
bool fw_complete_send(unsigned int i, int status);

/* Rendezvous payloads claimed with xw_rx_into, not landed yet. */
unsigned int fw_pending_rx(void);
/* Land the i-th (oldest first): its bytes, status 0; or fail it. */
bool fw_land(unsigned int i, int status);

/*
 * Host host_id says HELLO from ip (its epoch): ops->auth decides.  On an
 * outbound peer (xw_connect) that waits, it comes up or fails (-EACCES);
 * otherwise it is an inbound endpoint: a new peer, or the existing one
 * (another epoch than an up peer's: the old goes down -ESTALE, a new one
 * comes up).  The auth's answer, or -EALREADY if the peer was up already.
 */
int fw_hello(uint32_t host_id, uint64_t epoch, const char *ip);
/* Host host_id's peer fails (err, e.g. -ECONNRESET): down at progress. */
bool fw_fail(uint32_t host_id, int err);
/* Is there a peer of host_id, up? */
bool fw_peer_up(uint32_t host_id);
unsigned int fw_npeers(void);

/*
 * A message from host_id's peer (it must be up: false otherwise), hdr and
 * payload copied; rndv: the payload is a rendezvous one (landed later by
 * fw_land if claimed).
 */
bool fw_deliver(uint32_t host_id, const void *hdr, size_t hdr_len,
		const void *payload, size_t len, bool rndv);

/* Sends in flight per peer before xw_send says -EAGAIN (0: the default). */
void fw_set_max_inflight(unsigned int n);

#endif /* XENIB_FAKE_WIRE_H */
