/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the rest of xenibd sees of the connection manager (xenibd/cm/):
 * calls from the control dispatch, context teardown and main loop, and the
 * seam the fabric plugs other hosts into.
 */
#ifndef XENIBD_CM_HOOK_H
#define XENIBD_CM_HOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct xd_ctx;
struct cm_msg;
struct xenib_cm_addr;

/* The opcode belongs to the CM range of xenib-cm-abi.h. */
bool xd_cm_opcode(uint32_t opcode);
/* One CM control message in, one response out (like xd_ctrl_handle). */
void xd_cm_ctrl(struct xd_ctx *ctx, void *msg, ssize_t len, int fd);
/* A context goes away: its CM channel and ids with it. */
void xd_cm_ctx_destroy(struct xd_ctx *ctx);
/* Deliver queued CM messages, run CM timers; lowers *next_ns if needed. */
void xd_cm_tick(uint64_t *next_ns);
/* Counters for xenibctl stats ("name value" lines into buf). */
int xd_cm_stats(char *buf, size_t len);

/*
 * Other hosts (xenibd/fabric/fcm.c), set once the fabric is up.  Both
 * calls answer at once, from what the fabric knows now.
 */
struct xd_cm_remote_ops {
	/* Carry m to the host serving m->dlid: 0, or an errno (m is lost,
	 * as a MAD may be: the IB CM's timeouts and retries recover). */
	int (*send)(const struct cm_msg *m);
	/* The port an IP address of another host reaches (lid, gid): 0, or
	 * ENOENT when no other host has that address. */
	int (*resolve)(const struct xenib_cm_addr *dst, uint16_t *lid,
		       uint8_t gid[16]);
	/* Does the directory locate LIDs a and b on one host? */
	bool (*same_host)(uint16_t a, uint16_t b);
};
void xd_cm_set_remote(const struct xd_cm_remote_ops *ops);
/*
 * A message another host sent to a port here, checked as a guest's would
 * be and queued like a local one: 0, EINVAL (malformed), EHOSTUNREACH (no
 * such port here), ENOBUFS / ENOMEM.
 */
int xd_cm_deliver(const struct cm_msg *m);

#endif /* XENIBD_CM_HOOK_H */
