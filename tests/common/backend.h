/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd in-process, for unit tests and fuzzers: emulated contexts on a
 * socketpair and the requests a guest would send, as direct calls.
 */
#ifndef XENIB_TESTS_BACKEND_H
#define XENIB_TESTS_BACKEND_H

#include <stdint.h>

#include "xenibd/dev/dev.h"

/*
 * An emulated context on a socketpair; *guest_sock (if not NULL) gets the
 * guest's end (else it is closed: nothing may be answered).  NULL on error.
 */
struct xd_ctx *tb_ctx_new(int *guest_sock);
/* MAP_REGION of npages of memfd fd (duplicated) at offset. 0 or errno. */
int tb_region_map(struct xd_ctx *ctx, int fd, uint64_t offset,
		  uint32_t npages, uint32_t flags, uint32_t *handle);
/* BIND_NOTIFY of the backend end fd (taken) of a notifier pair. */
int tb_notify_bind(struct xd_ctx *ctx, int fd, uint32_t kind,
		   uint32_t *handle);
/* The QP qpn of ctx's guest, or NULL. */
struct xd_qp *tb_qp(struct xd_ctx *ctx, uint32_t qpn);

#endif /* XENIB_TESTS_BACKEND_H */
