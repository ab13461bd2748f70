// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Helpers shared by the libFuzzer harnesses (see fuzz_common.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "util/hv.h"
#include "fuzz/fuzz_common.h"
#include "xenibd/transport/emu.h"

void fz_bytes(struct fz_in *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((char *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

uint32_t fz_u32(struct fz_in *in)
{
	uint32_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

uint64_t fz_u64(struct fz_in *in)
{
	uint64_t v;

	fz_bytes(in, &v, sizeof(v));
	return v;
}

void fz_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	xd_config_defaults(&xd.cfg);
	xd.cfg.max_guests = 4;
	/* Low enough that the fuzzer reaches the limits. */
	xd.cfg.limits.qps = 8;
	xd.cfg.limits.cqs = 8;
	xd.cfg.limits.pds = 8;
	xd.cfg.limits.mrs = 8;
	xd.cfg.limits.mr_bytes = 64 * 4096;
	xd.cfg.limits.srqs = 4;
	xd.cfg.limits.region_bytes = 256 * 4096;
	xd.cfg.limits.regions = 16;
	xd.cfg.limits.notifiers = 8;
	if (xd_state_init())
		abort();
	/*
	 * xenibd logs every rejected request through stdio's stderr; the
	 * sanitizers and libFuzzer write to fd 2 directly and still report.
	 */
	if (!getenv("FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");

		if (null)
			stderr = null;
	}
}

void fz_reset(void)
{
	/* Fresh guests: their handle tables start again at 0x100. */
	xd_guest_fini();
}

void fz_ctx_open(struct fz_ctx *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv))
		abort();
	c->ctx = xd_emu_ctx_new(sv[0]);
	if (!c->ctx)
		abort();
	c->guest_sock = sv[1];
}

void fz_ctx_drain(struct fz_ctx *c)
{
	char buf[XENIB_CTRL_MAX_MSG];
	int fd;

	while (hv_msg_recv(c->guest_sock, buf, sizeof(buf), &fd) > 0)
		if (fd >= 0)
			close(fd);
}

void fz_ctx_close(struct fz_ctx *c)
{
	if (!c->ctx)
		return;
	xd_ctx_destroy(c->ctx);
	fz_ctx_drain(c);
	close(c->guest_sock);
	c->ctx = NULL;
}

void fz_ctrl(struct fz_ctx *c, const void *msg, size_t len, int fd)
{
	void *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, msg, len);
	xd_ctrl_handle(c->ctx, copy, len, fd);
	free(copy);
	fz_ctx_drain(c);
}

int fz_memfd(uint32_t npages)
{
	int fd = memfd_create("xenib-fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)npages * XENIB_PAGE_SIZE) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		close(fd);
		return -1;
	}
	return fd;
}

int fz_fd(uint8_t kind, uint32_t npages)
{
	int g, b, p[2];

	switch (kind & 3) {
	case 1:
		return fz_memfd(npages);
	case 2:
		if (hv_notify_pair(&g, &b))
			return -1;
		close(g);
		return b;
	case 3:
		if (pipe2(p, O_CLOEXEC))
			return -1;
		close(p[1]);
		return p[0];
	}
	return -1;
}

void fz_check_empty(void)
{
	const struct xd_stats *s = &xd.stats;

	uint32_t i, q;

	if (s->contexts || s->pds || s->mrs || s->cqs || s->qps ||
	    s->regions || s->notifiers || s->mr_bytes || s->srqs || s->ahs) {
		fprintf(stdout, "LEAK: ctx %ld pd %ld mr %ld cq %ld qp %ld "
			"region %ld notifier %ld mr_bytes %lld srq %ld ah %ld\n",
			s->contexts, s->pds, s->mrs, s->cqs, s->qps,
			s->regions, s->notifiers, s->mr_bytes, s->srqs, s->ahs);
		abort();
	}
	/* Every guest's quota usage is back to zero with its objects. */
	for (i = 0; i < xd.cfg.max_guests; i++)
		for (q = 0; q < XD_Q_MAX; q++)
			if (xd.guests[i].used[q]) {
				fprintf(stdout, "QUOTA: guest %u kind %u: %llu\n",
					i, q, (unsigned long long)
					xd.guests[i].used[q]);
				abort();
			}
}
