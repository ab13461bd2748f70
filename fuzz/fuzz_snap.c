// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness: a migration snapshot from another host's backend
 * (xenibd/migrate/snap.h), hostile.  The input is the snapshot itself;
 * it goes through what a destination does with one: parse, adopt, every
 * region and notifier given back (RESUME_REGION with a memfd of the
 * record's size and offset, up to a bound; RESUME_NOTIFY with a notifier
 * end), and RESUME_DONE, which rebuilds every object; then the engine runs over
 * what was built, and everything is torn down (nothing may leak).
 * Seeds: snapshots of real contexts (tests/unit/test_migrate.c writes
 * them with XENIB_SNAP_SEED=DIR).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz_common.h"
#include "xenibd/migrate/migrate.h"
#include "xenibd/migrate/snap.h"
#include "xenibd/transport/emu_int.h"
#include "xenibd/transport/transport.h"

#define FZ_MAX_PAGES	64	/* regions larger are not given back */

static void resume_all(struct xd_ctx *ctx, const struct xm_snap_ctx *c)
{
	const struct xm_rec *r;
	const void *b;
	size_t off = 0;
	int fd;

	while (xm_snap_next(c, &off, &r, &b)) {
		if (r->tag == XM_R_REGION) {
			const struct xm_r_region *g = b;
			struct xenib_resume_region_req q = {
				.hdr = { .opcode = XENIB_CMD_RESUME_REGION },
				.handle = g->handle, .npages = g->npages,
			};

			/* Big enough for the record's offset too. */
			if (g->npages > FZ_MAX_PAGES ||
			    g->offset / XENIB_PAGE_SIZE > FZ_MAX_PAGES)
				continue;
			fd = fz_memfd(g->npages +
				      (uint32_t)(g->offset / XENIB_PAGE_SIZE));
			xm_resume_request(ctx, &q.hdr, sizeof(q), &fd);
			if (fd >= 0)
				close(fd);
		} else if (r->tag == XM_R_NOTIFY) {
			const struct xm_r_notify *n = b;
			struct xenib_resume_notify_req q = {
				.hdr = { .opcode = XENIB_CMD_RESUME_NOTIFY },
				.handle = n->handle,
			};

			fd = fz_fd(2, 0);
			xm_resume_request(ctx, &q.hdr, sizeof(q), &fd);
			if (fd >= 0)
				close(fd);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xenib_ctrl_hdr done = { .opcode = XENIB_CMD_RESUME_DONE };
	struct list_node *pos, *tmp;
	struct xm_snap *s;
	struct xd_guest *g;
	const char *why;
	uint8_t *buf;
	uint64_t next = UINT64_MAX;
	int fd = -1;

	fz_init();
	fz_reset();
	if (!size || size > XM_SNAP_MAX)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (xm_snap_parse(buf, size, &s, &why))
		return 0;
	if (xm_adopt_guest(s, &xd_emu_transport, 1000000000ull, &g))
		return 0;
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);
		struct emu_ctx *ec = EMU_CTX(ctx);

		if (!ctx->adopt)
			continue;
		/* As TAKEOVER leaves it: the notifiers' owner is us. */
		ec->adopted = false;
		ec->pid = getpid();
		resume_all(ctx, xm_adopt_snap(ctx));
		xm_resume_request(ctx, &done, sizeof(done), &fd);
	}
	xd.now_ns = xd_now_ns();
	xd_engine_poll(&next);
	xd_engine_poll(&next);
	while (!list_empty(&xd.ctxs))
		xd_ctx_destroy(list_entry(xd.ctxs.next, struct xd_ctx, link));
	fz_check_empty();
	return 0;
}
