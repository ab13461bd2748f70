/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The embedded emulation's transport (emu.c). */
#ifndef XENIBD_TRANSPORT_EMU_H
#define XENIBD_TRANSPORT_EMU_H

struct xd_ctx;

/* Listen for guests on DIR/devname.sock ("ready" once it exists). 0/errno */
int xd_emu_listen(const char *dir, const char *devname);
/* Stop listening and remove the socket. */
void xd_emu_fini(const char *dir, const char *devname);
/*
 * A context on a connected control socket (it owns sock from now).  The
 * in-process tests and fuzzers make theirs with it too.  NULL on failure.
 */
struct xd_ctx *xd_emu_ctx_new(int sock);

#endif /* XENIBD_TRANSPORT_EMU_H */
