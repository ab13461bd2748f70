/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the emulated transport's files share (emu.c: contexts, memory,
 * notifiers; emu_move.c: migration between hosts).
 */
#ifndef XENIBD_TRANSPORT_EMU_INT_H
#define XENIBD_TRANSPORT_EMU_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "xenibd/dev/dev.h"
#include "xenibd/daemon/loop.h"
#include "util/hv.h"
#include "util/list.h"

struct emu_ctx {
	struct xd_ctx ctx;
	int sock;		/* -1: none (adopted, or moved away) */
	pid_t pid;
	struct hv_peer who;	/* its credentials (SysV segments) */
	struct xd_watch w;
	bool pending;		/* on the pending list (no HELLO yet) */
	struct list_node plink;
	/* Adopted from another host (emu_move.c): taken over with token. */
	bool adopted;
	char token[XENIB_TOKEN_LEN];
};

struct emu_region {
	struct xd_region r;
	int fd;			/* the object's fd, or -1 for a SysV segment */
	uint64_t offset;	/* of the region in it */
	void *seg;		/* SysV: where the whole segment is attached */
	size_t page;		/* 4096, or the object's huge page size */
	bool guarded;		/* may shrink: mapped under emu_guard.c */
};

struct emu_notify {
	struct xd_notify n;
	int fd;			/* our end of the notifier pair */
	struct xd_watch w;	/* doorbells only */
	bool dead;		/* its peer is gone or elsewhere: no signals */
};

#define EMU_CTX(c) container_of(c, struct emu_ctx, ctx)
#define EMU_REGION(x) container_of(x, struct emu_region, r)
#define EMU_NOTIFY(x) container_of(x, struct emu_notify, n)

extern const struct xd_transport xd_emu_transport;

/* emu.c: a context's socket is read again / no more (freeze). */
void xd_emu_ctx_ready(struct xd_watch *w, uint32_t events);
/* fds the emulation holds for guests (emu.c's count). */
void xd_emu_fd_count(int delta);

/* emu_move.c: the transport's migration ops (transport.h) */
int xd_emu_request(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		   size_t len, int *fd);
bool xd_emu_request_phase(const struct xd_ctx *ctx);
int xd_emu_freeze(struct xd_ctx *ctx);
void xd_emu_thaw(struct xd_ctx *ctx);
int xd_emu_move(struct xd_ctx *ctx, const char *token, const char *dest);
struct xd_ctx *xd_emu_adopt(struct xd_guest *g, const char *token);
const char *xd_emu_addr(void);
/* The first message of a pending context: TAKEOVER?  Handled if true. */
bool xd_emu_takeover(struct emu_ctx *ec, const void *msg, ssize_t len);
/* The listen path of this backend's emulated guests (MOVE's path). */
void xd_emu_set_addr(const char *path);

#endif /* XENIBD_TRANSPORT_EMU_INT_H */
