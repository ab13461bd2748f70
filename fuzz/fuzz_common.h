/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers shared by the libFuzzer harnesses: an in-process xenibd (no epoll
 * loop), contexts whose control socket is one end of a socketpair, and the
 * fds a guest would pass (sealed memfds, notifier endpoints).
 */
#ifndef XENIB_FUZZ_COMMON_H
#define XENIB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "xenibd/dev/dev.h"

/* A byte reader over the fuzzer's input; reads past the end yield zeros. */
struct fz_in {
	const uint8_t *p;
	size_t left;
};

uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);
void fz_bytes(struct fz_in *in, void *dst, size_t n);

/* Once per process: configuration defaults (few guests) and tables. */
void fz_init(void);

/*
 * Between inputs (the backend holds no object): fresh handle tables and
 * guest slots, so handles in an input mean the same thing every run
 * (the first object of each kind is 0x100, the second 0x200, ...).
 */
void fz_reset(void);

/* A context as xd_ctx_accept() makes it; the guest end is drained. */
struct fz_ctx {
	struct xd_ctx *ctx;
	int guest_sock;
};

void fz_ctx_open(struct fz_ctx *c);
/* Discard whatever xenibd answered (and the fds it passed). */
void fz_ctx_drain(struct fz_ctx *c);
void fz_ctx_close(struct fz_ctx *c);

/* Send one control message through xd_ctrl_handle(); the buffer is exact. */
void fz_ctrl(struct fz_ctx *c, const void *msg, size_t len, int fd);

/* A zero-filled sealed memfd of npages (like hv_shm_alloc), or -1. */
int fz_memfd(uint32_t npages);
/* A fd of the given kind (0 none, 1 memfd, 2 notifier end, 3 pipe). */
int fz_fd(uint8_t kind, uint32_t npages);

/* Abort if the backend still holds any object (a leak). */
void fz_check_empty(void);

#endif /* XENIB_FUZZ_COMMON_H */
