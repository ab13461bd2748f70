/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fuzz_fabric's steps that deliver messages from the fake remote hosts
 * (their fields: fuzz/fuzz_fabric.c, fuzz/mkcorpus.py), and the pickers
 * the guests' steps share with them.
 */
#ifndef XENIB_FUZZ_FABRIC_MSGS_H
#define XENIB_FUZZ_FABRIC_MSGS_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz/fabric_world.h"

/* REQ: slices of one message towards s, each delivered repeat times. */
void ff_step_req(struct fz_in *in, struct ff_side *s, struct ff_side *o,
		 unsigned int repeat);
/* ANSWER / READ_RESP to a request this backend sent (the wire's log). */
void ff_step_answer(struct fz_in *in, struct ff_side *s);
void ff_step_read_resp(struct fz_in *in, struct ff_side *s);
/* Any header bytes and payload. */
void ff_step_raw(struct fz_in *in, struct ff_side *s);

/* An address in the side's MR (iova + u16), or anything. */
uint64_t ff_pick_addr(struct fz_in *in);
bool ff_is_atomic(uint32_t op);
/* Does a request of opcode op carry payload bytes (SEND, WRITE)? */
bool ff_carries(uint32_t op);

#endif /* XENIB_FUZZ_FABRIC_MSGS_H */
