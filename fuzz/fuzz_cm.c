// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_cm: arbitrary bytes as CM control messages (xenib-cm-abi.h) from
 * guests, as IB CM messages from the fabric, and as the passing of time,
 * against xenibd's connection manager.
 *
 * Setup: guests "fuzz-a" (two event channels, 0 and 2) and "fuzz-b"
 * (channel 1), each with an RC and a UD QP (QPNs are per guest: 0x100 and
 * 0x200 in each) so connects and accepts can pass the ownership check.
 * Input: u8 mode, then records { u8 kind, u8 arg, u16 len, len bytes }.
 *   mode bit 0: HELLO + CM_OPEN on every channel first
 *   mode bit 1: patch hdr.length to the record length
 *   kind bits 0-1: the channel (3: channel 0)
 *   kind bit 2: a notifier endpoint travels with the message
 *   kind bit 3: the bytes are a struct cm_msg from the fabric, addressed
 *               to guest a's or b's port (arg bit 0)
 *   kind bit 4: afterwards time advances by arg * 100 ms (timers run)
 * Each message is copied into a buffer of exactly its length.  At the end
 * every channel and context is torn down, the messages that teardown sent
 * are delivered, and the backend must hold no CM or verbs object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "fuzz/fuzz_common.h"
#include "tests/common/backend.h"
#include "xenibd/cm/cm.h"
#include "xenibd/cm/cm_hook.h"

static uint64_t now_ns;

static uint64_t fuzz_clock(void)
{
	return now_ns;
}

static void hello(struct fz_ctx *c, const char *name)
{
	struct xenib_hello_req h = {
		.hdr = { .opcode = XENIB_CMD_HELLO, .length = sizeof(h) },
		.abi_version = XENIB_ABI_VERSION,
	};
	struct xenib_cm_open_req o = {
		.hdr = { .opcode = XENIB_CM_OPEN, .length = sizeof(o) },
		.abi_version = XENIB_CM_ABI_VERSION,
	};

	strcpy(h.guest_name, name);
	fz_ctrl(c, &h, sizeof(h), -1);
	fz_ctrl(c, &o, sizeof(o), fz_fd(2, 0));
}

/* A verbs context of guest name with an RC and a UD QP (made directly). */
static void verbs(struct fz_ctx *c, const char *name)
{
	struct xenib_create_cq_req cq = { 0 };
	struct xenib_create_qp_req qp = { 0 };
	uint32_t h, pd, cqh, qpn, t;
	int fd;

	fz_ctx_open(c);
	c->ctx->guest = xd_guest_get(name);
	c->ctx->hello = true;
	fd = fz_memfd(1);
	tb_region_map(c->ctx, fd, 0, 1, XENIB_REGION_CTX_PAGE, &h);
	close(fd);
	tb_notify_bind(c->ctx, fz_fd(2, 0), XENIB_NOTIFY_DOORBELL, &h);
	xd_pd_alloc(c->ctx, &pd);
	fd = fz_memfd(xr_ring_bytes(8, 64) / 4096);
	tb_region_map(c->ctx, fd, 0, xr_ring_bytes(8, 64) / 4096, 0, &h);
	close(fd);
	cq.ring = (struct xenib_ring_desc){ h, 8, 0, 64, 0 };
	cq.notify = XENIB_INVALID_HANDLE;
	xd_cq_create(c->ctx, &cq, &cqh);
	for (t = 0; t < 2; t++) {
		uint32_t n = 2 * xr_ring_bytes(8, 128) / 4096;

		fd = fz_memfd(n);
		tb_region_map(c->ctx, fd, 0, n, 0, &h);
		close(fd);
		memset(&qp, 0, sizeof(qp));
		qp.pd = pd;
		qp.qp_type = t ? IBV_QPT_UD : IBV_QPT_RC;
		qp.send_cq = qp.recv_cq = cqh;
		qp.srq = XENIB_INVALID_HANDLE;
		qp.max_send_sge = qp.max_recv_sge = 1;
		qp.sq = (struct xenib_ring_desc){ h, 8, 0, 128, 0 };
		qp.rq = (struct xenib_ring_desc){ h, 8, xr_ring_bytes(8, 128),
						  128, 0 };
		xd_qp_create(c->ctx, &qp, &qpn);
	}
}

/* Between inputs: CM handles start over too (deterministic inputs). */
static void cm_reset(void)
{
	if (!cm.ready)
		cm_init();
	if (cm.ids.used || cm.mcs.used)
		abort();
	xd_table_fini(&cm.ids);
	xd_table_init(&cm.ids, "cm ids", 1u << 20);
	xd_table_fini(&cm.mcs);
	xd_table_init(&cm.mcs, "cm joins", 1u << 16);
	memset(&cm.stats, 0, sizeof(cm.stats));
	cm.clock = fuzz_clock;
	now_ns = 1000000000ull;
}

static void advance(unsigned int steps)
{
	while (steps--) {
		uint64_t next = UINT64_MAX;

		now_ns += 100000000ull;
		xd_cm_tick(&next);
	}
}

static void inject(const uint8_t *p, size_t len, uint8_t to_b,
		   struct fz_ctx *va, struct fz_ctx *vb)
{
	struct cm_msg m;
	struct xd_guest *g = to_b ? vb->ctx->guest : va->ctx->guest;
	uint64_t next = UINT64_MAX;

	memset(&m, 0, sizeof(m));
	memcpy(&m, p, len < sizeof(m) ? len : sizeof(m));
	m.dlid = g->lid;
	cm_send_raw(&m);
	xd_cm_tick(&next);
}

static void check_empty(void)
{
	uint32_t i;

	if (cm.stats.ids || cm.stats.chans || cm.stats.listens ||
	    cm.stats.conns || cm.stats.mcs || cm.ninbox) {
		fprintf(stdout, "CM LEAK: ids %lld chans %lld listens %lld "
			"conns %lld mcs %lld inbox %u\n", cm.stats.ids,
			cm.stats.chans, cm.stats.listens, cm.stats.conns,
			cm.stats.mcs, cm.ninbox);
		abort();
	}
	for (i = 0; i < xd.cfg.max_guests; i++)
		if (cm.use[i].ids || cm.use[i].listens || cm.use[i].pending ||
		    cm.use[i].mcs) {
			fprintf(stdout, "CM QUOTA: guest %u\n", i);
			abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[3] = { "fuzz-a", "fuzz-b", "fuzz-a" };
	struct fz_in in = { data, size };
	struct fz_ctx c[3] = { 0 }, va = { 0 }, vb = { 0 };
	static uint8_t msg[XENIB_CTRL_MAX_MSG];
	uint8_t mode;
	int i;

	fz_init();
	fz_reset();
	cm_reset();
	verbs(&va, "fuzz-a");
	verbs(&vb, "fuzz-b");
	mode = fz_u8(&in);
	for (i = 0; i < 3; i++) {
		fz_ctx_open(&c[i]);
		if (mode & 1)
			hello(&c[i], names[i]);
	}
	while (in.left >= 4) {
		uint8_t kind = fz_u8(&in);
		uint8_t arg = fz_u8(&in);
		uint16_t len = fz_u16(&in);
		struct fz_ctx *t = &c[(kind & 3) == 3 ? 0 : kind & 3];

		if (len > XENIB_CTRL_MAX_MSG)
			len = XENIB_CTRL_MAX_MSG;
		if (len > in.left)
			len = in.left;
		fz_bytes(&in, msg, len);
		if (kind & 8) {
			inject(msg, len, arg & 1, &va, &vb);
		} else {
			if ((mode & 2) && len >= sizeof(struct xenib_ctrl_hdr))
				((struct xenib_ctrl_hdr *)msg)->length = len;
			fz_ctrl(t, msg, len, (kind & 4) ? fz_fd(2, 0) : -1);
		}
		if (kind & 16)
			advance(arg);
	}
	for (i = 0; i < 3; i++)
		fz_ctx_close(&c[i]);
	/* What the teardown said to the others is delivered, then they go. */
	advance(1);
	fz_ctx_close(&va);
	fz_ctx_close(&vb);
	advance(1);
	cm_inbox_clear();
	check_empty();
	fz_check_empty();
	return 0;
}
