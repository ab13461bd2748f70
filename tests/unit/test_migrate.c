// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A guest's context taken apart and rebuilt through a snapshot
 * (xenibd/migrate/), in one in-process backend: freeze, snapshot, forget
 * the context as a migration's source does (no guest memory touched),
 * adopt the snapshot as a destination does, take the context over with a
 * new control connection (TAKEOVER, RESUME_REGION with the same memfds,
 * RESUME_NOTIFY with new notifier pairs, RESUME_DONE), and go on: same
 * LID, QPN and keys, the connection to its peer intact, a WQE that was
 * held (its target paused) while it moved completed exactly once, every
 * object and account back, a region at an offset into its memfd (as
 * adopted memory is) mapped at the same offset again.  Also the refusals: a wrong token, a region of
 * the wrong size, RESUME_DONE with a region missing, a corrupt snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "tests/common/sides.h"
#include "xenibd/migrate/migrate.h"
#include "xenibd/migrate/snap.h"
#include "xenibd/transport/emu_int.h"
#include "xenibd/transport/transport.h"

static const uint64_t base = 0x10000000;

struct saved_region {
	uint32_t handle, npages;
	int fd;
};

struct moved {
	struct saved_region reg[16];
	unsigned int nreg;
	uint32_t notify[16], kind[16];
	unsigned int nnot;
	struct xm_buf snap;
};

/* XENIB_SNAP_SEED=DIR: the snapshot as a seed for fuzz/fuzz_snap.c. */
static void seed(const struct xm_buf *b)
{
	const char *dir = getenv("XENIB_SNAP_SEED");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/unit_migrate_%zu", dir, b->len);
	f = fopen(path, "w");
	if (f) {
		fwrite(b->p, 1, b->len, f);
		fclose(f);
	}
}

/* The source's half: freeze, snapshot, remember the memfds, forget. */
static void take_apart(struct side *s, struct moved *m)
{
	struct xd_ctx *ctx = s->ctx;
	struct xd_guest *g = ctx->guest;
	char tokens[1][XENIB_TOKEN_LEN] = { "0123456789abcdef01234567" };
	struct list_node *pos, *tmp;
	uint16_t lid = g->lid;

	memset(m, 0, sizeof(*m));
	ctx->frozen = true;
	/* Its socket is on no loop here: nothing to stop reading. */
	ctx->tp->freeze(ctx);
	CHECK(!xm_snap_save(g, tokens, 1, &m->snap), "snapshot (%zu bytes)",
	      m->snap.len);
	seed(&m->snap);
	list_for_each_safe(pos, tmp, &ctx->regions) {
		struct xd_region *r = list_entry(pos, struct xd_region, link);

		m->reg[m->nreg].handle = r->h.id;
		m->reg[m->nreg].npages = r->len / 4096;
		m->reg[m->nreg].fd = dup(EMU_REGION(r)->fd);
		m->nreg++;
	}
	list_for_each_safe(pos, tmp, &ctx->notifiers) {
		struct xd_notify *n = list_entry(pos, struct xd_notify, link);

		m->notify[m->nnot] = n->h.id;
		m->kind[m->nnot++] = n->kind;
	}
	xd_ctx_destroy(ctx);
	xd_guest_moved_away(g);
	xm_tombstone(lid);
	s->ctx = NULL;
}

static void pump(void)
{
	struct timespec zero = { 0 };
	int i;

	for (i = 0; i < 4; i++)
		xd_loop_run(&zero);
}

/* One request on the guest's socket and its answer's status. */
static int ask(int gs, void *req, uint16_t op, uint32_t len, int fd)
{
	struct xenib_ctrl_hdr *h = req, r;
	static uint32_t seq = 100;
	int got = -1;

	h->opcode = op;
	h->length = len;
	h->seq = ++seq;
	if (hv_msg_send(gs, req, len, fd))
		return -1;
	pump();
	{
		ssize_t n = hv_msg_recv(gs, &r, sizeof(r), &got);

		if (n < (ssize_t)sizeof(r)) {
			printf("ask %u: recv %zd\n", op, n);
			return -1;
		}
	}
	if (got >= 0)
		close(got);
	return r.seq == seq ? (int)r.status : -1;
}

static struct xd_ctx *adopted_ctx(const char *name)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->guest && !strcmp(ctx->guest->name, name))
			return ctx;
	}
	return NULL;
}

/*
 * A region two pages into a memfd of three, its page marked: registered
 * memory sits at an offset into its object (util/emu/adopt.c).
 */
static uint32_t offset_region(struct xd_ctx *ctx)
{
	int fd = memfd_create("offset", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint32_t h = 0;

	CHECK(fd >= 0 && !ftruncate(fd, 3 * 4096) &&
	      !fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) &&
	      pwrite(fd, "offset", 7, 2 * 4096) == 7, "memfd for an offset");
	CHECK(!tb_region_map(ctx, fd, 2 * 4096, 1, 0, &h),
	      "a region 2 pages into its memfd");
	close(fd);
	return h;
}

/* The destination's half, then the guest's: TAKEOVER and RESUME_*. */
static void put_together(struct side *s, struct moved *m, const char *name)
{
	struct xenib_takeover_req t = { .abi_version = XENIB_ABI_VERSION };
	struct xenib_resume_region_req rr = { 0 };
	struct xenib_resume_notify_req rn = { 0 };
	struct xenib_ctrl_hdr done = { 0 };
	struct xm_snap *snap;
	struct xd_guest *g;
	const char *why = "";
	uint8_t *copy = malloc(m->snap.len);
	unsigned int i;
	int gs, gfd, bfd, err;

	memcpy(copy, m->snap.p, m->snap.len);
	err = xm_snap_parse(copy, m->snap.len, &snap, &why);
	CHECK(!err, "snapshot parses: %s", why);
	CHECK(!xm_adopt_guest(snap, &xd_emu_transport, 10000000000ull, &g),
	      "adopted");
	CHECK(g->incoming && xm_lid_paused(g->lid), "arriving: LID paused");

	CHECK(tb_ctx_new(&gs) != NULL, "new connection");
	snprintf(t.guest_name, sizeof(t.guest_name), "%s", name);
	snprintf(t.token, sizeof(t.token), "%s", "not-the-token");
	CHECK(ask(gs, &t, XENIB_CMD_TAKEOVER, sizeof(t), -1) == ENOENT,
	      "TAKEOVER with a wrong token: ENOENT");
	close(gs);
	pump();
	CHECK(tb_ctx_new(&gs) != NULL, "new connection");
	snprintf(t.token, sizeof(t.token), "%s", "0123456789abcdef01234567");
	CHECK(ask(gs, &t, XENIB_CMD_TAKEOVER, sizeof(t), -1) == 0, "TAKEOVER");

	CHECK(ask(gs, &done, XENIB_CMD_RESUME_DONE, sizeof(done), -1) ==
	      EBUSY, "RESUME_DONE before the memory is back: EBUSY");
	rr.handle = m->reg[0].handle;
	rr.npages = m->reg[0].npages + 1;
	CHECK(ask(gs, &rr, XENIB_CMD_RESUME_REGION, sizeof(rr),
		  m->reg[0].fd) == ENOENT, "RESUME_REGION of another size");
	for (i = 0; i < m->nreg; i++) {
		rr.handle = m->reg[i].handle;
		rr.npages = m->reg[i].npages;
		CHECK(ask(gs, &rr, XENIB_CMD_RESUME_REGION, sizeof(rr),
			  m->reg[i].fd) == 0, "RESUME_REGION %u", i);
		close(m->reg[i].fd);
	}
	for (i = 0; i < m->nnot; i++) {
		hv_notify_pair(&gfd, &bfd);
		rn.handle = m->notify[i];
		CHECK(ask(gs, &rn, XENIB_CMD_RESUME_NOTIFY, sizeof(rn), bfd) ==
		      0, "RESUME_NOTIFY %u", i);
		close(bfd);
		if (m->kind[i] == XENIB_NOTIFY_ASYNC)
			s->notify_guest_fd = gfd;
	}
	CHECK(ask(gs, &done, XENIB_CMD_RESUME_DONE, sizeof(done), -1) == 0,
	      "RESUME_DONE");
	s->ctx = adopted_ctx(name);
	CHECK(s->ctx && !s->ctx->frozen && !s->ctx->adopt &&
	      !s->ctx->guest->incoming, "the context runs again");
	xm_buf_free(&m->snap);
}

static void test_refusals(void)
{
	struct xm_snap *snap;
	const char *why = "";
	uint8_t *junk = calloc(1, 64);

	CHECK(xm_snap_parse(junk, 64, &snap, &why) == EBADMSG,
	      "junk is not a snapshot (%s)", why);
}

int main(void)
{
	struct side a, b;
	struct xenib_cqe cqe;
	struct moved m;
	struct xd_region *or;
	uint32_t qpn, lkey, oh;
	uint16_t lid;

	sides_cast(&a, &b, NULL);
	/* A loop for the connections made from here on (TAKEOVER's). */
	xd.epfd = epoll_create1(EPOLL_CLOEXEC);
	connect_qp(&a, &b, 7, IBV_ACCESS_REMOTE_WRITE);
	connect_qp(&b, &a, 7, IBV_ACCESS_REMOTE_WRITE);

	/* Some traffic first, so that sequence numbers have moved on. */
	post_recv(&b, 1, base, 64, b.lkey);
	memcpy(a.buf.va, "before", 7);
	post_send(&a, 10, IBV_WR_SEND, base, 7, a.lkey, 0, 0);
	run_engine();
	CHECK(poll_one(&b, &cqe) && cqe.wr_id == 1, "SEND before the move");
	CHECK(poll_one(&a, &cqe) && cqe.wr_id == 10, "its completion");

	/* A WQE held in a's window: its target is paused. */
	b.ctx->frozen = true;
	post_recv(&b, 2, base + 64, 64, b.lkey);
	memcpy(a.buf.va, "across", 7);
	post_send(&a, 11, IBV_WR_SEND, base, 7, a.lkey, 0, 0);
	run_engine();
	CHECK(!poll_one(&a, &cqe), "held while its target is paused");

	make_distinct(&a);	/* more kinds of objects to move */
	oh = offset_region(a.ctx);
	qpn = a.qpn;
	lkey = a.lkey;
	lid = a.ctx->guest->lid;
	take_apart(&a, &m);
	CHECK(!xd_guest_by_lid(lid) && xm_lid_paused(lid),
	      "the source forgot it; its LID answers paused");
	post_recv(&a, 99, base, 64, lkey);	/* posted during the move */
	put_together(&a, &m, "alice");
	CHECK(a.ctx->guest->lid == lid && tb_qp(a.ctx, qpn) &&
	      tb_qp(a.ctx, qpn)->attr.qp_state == IBV_QPS_RTS,
	      "same LID, same QPN, still RTS");
	or = xd_region_lookup(a.ctx, oh);
	CHECK(or && or->offset == 2 * 4096 && !memcmp(or->va, "offset", 7),
	      "the region at an offset is mapped at the same offset again");

	b.ctx->frozen = false;
	run_engine();
	run_engine();
	CHECK(poll_one(&b, &cqe) && cqe.wr_id == 2 && cqe.byte_len == 7 &&
	      !memcmp((char *)b.buf.va + 64, "across", 7),
	      "the held WQE arrived once (wr_id %llu)",
	      (unsigned long long)cqe.wr_id);
	CHECK(!poll_one(&b, &cqe), "and only once");
	CHECK(poll_one(&a, &cqe) && cqe.wr_id == 11 && !cqe.status,
	      "its completion, after the move");
	CHECK(!poll_one(&a, &cqe), "one completion");

	/* Both ways, through the same keys. */
	memcpy(b.buf.va, "back", 5);
	post_send(&b, 20, IBV_WR_SEND, base, 5, b.lkey, 0, 0);
	run_engine();
	CHECK(poll_one(&a, &cqe) && cqe.wr_id == 99 && cqe.byte_len == 5 &&
	      !memcmp(a.buf.va, "back", 5),
	      "the receive posted during the move");
	CHECK(poll_one(&b, &cqe) && cqe.wr_id == 20, "b's completion");
	memcpy(a.buf.va, "written", 8);
	post_send(&a, 12, IBV_WR_RDMA_WRITE, base, 8, lkey, base + 4096,
		  b.lkey);
	run_engine();
	CHECK(poll_one(&a, &cqe) && cqe.wr_id == 12 && !cqe.status &&
	      !memcmp((char *)b.buf.va + 4096, "written", 8),
	      "RDMA WRITE with the old key");
	test_refusals();
	return sides_end((struct side *[]){ &a, &b }, 2);
}
