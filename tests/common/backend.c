// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xenibd in-process (backend.h). */
#include <unistd.h>
#include <sys/socket.h>

#include "xenibd/transport/emu.h"
#include "tests/common/backend.h"

struct xd_ctx *tb_ctx_new(int *guest_sock)
{
	struct xd_ctx *ctx;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv))
		return NULL;
	ctx = xd_emu_ctx_new(sv[0]);
	if (!ctx) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (guest_sock)
		*guest_sock = sv[1];
	else
		close(sv[1]);
	return ctx;
}

int tb_region_map(struct xd_ctx *ctx, int fd, uint64_t offset,
		  uint32_t npages, uint32_t flags, uint32_t *handle)
{
	struct xenib_map_region_req req = {
		.npages = npages, .flags = flags, .offset = offset,
	};
	int dfd = dup(fd), err;

	err = xd_region_map(ctx, &req, &dfd, handle);
	if (dfd >= 0)
		close(dfd);
	return err;
}

int tb_notify_bind(struct xd_ctx *ctx, int fd, uint32_t kind,
		   uint32_t *handle)
{
	struct xenib_bind_notify_req req = { .kind = kind };
	int err = xd_notify_bind(ctx, &req, &fd, handle);

	if (fd >= 0)
		close(fd);
	return err;
}

struct xd_qp *tb_qp(struct xd_ctx *ctx, uint32_t qpn)
{
	return ctx->guest ? xd_qp_find(ctx->guest->lid, qpn) : NULL;
}
