/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the rest of xenibd sees of the connection manager (xenibd/cm/):
 * four calls, from the control dispatch, context teardown and main loop.
 */
#ifndef XENIBD_CM_HOOK_H
#define XENIBD_CM_HOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct xd_ctx;

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

#endif /* XENIBD_CM_HOOK_H */
