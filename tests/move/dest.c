// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A fake destination (hosts.h): the guest's new connection after a MOVE,
 * from TAKEOVER to RESUME_DONE, every message checked against what the
 * source knew of the context.  Anything wrong is noted in the context's
 * report (err) and answered with an error, as a real backend would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tests/move/hosts_int.h"
#include "util/hv.h"

static struct hreg *reg_find(struct hctx *c, uint32_t handle)
{
	for (int i = 0; i < c->nregs; i++)
		if (c->regs[i].handle == handle)
			return &c->regs[i];
	return NULL;
}

static struct hnot *not_find(struct hctx *c, uint32_t handle)
{
	for (int i = 0; i < c->nnots; i++)
		if (c->nots[i].handle == handle)
			return &c->nots[i];
	return NULL;
}

static void takeover(struct hctx *c, const void *msg, ssize_t n)
{
	const struct xenib_takeover_req *t = msg;
	const char *guest = getenv("XENIB_EMU_GUEST");
	uint32_t st = 0;

	if (t->hdr.opcode != XENIB_CMD_TAKEOVER || n != sizeof(*t)) {
		h_err(c, "first request: opcode %u, %zd bytes, not TAKEOVER",
		      t->hdr.opcode, n);
		h_answer(c, t->hdr.opcode, t->hdr.seq, EPROTO);
		c->t = T_REFUSED;
		return;
	}
	if (t->abi_version != XENIB_ABI_VERSION)
		h_err(c, "TAKEOVER: ABI %u", t->abi_version);
	if (memcmp(t->token, c->token, sizeof(t->token)))
		h_err(c, "TAKEOVER: token %.32s, the MOVE said %s", t->token,
		      c->token);
	if (!memchr(t->guest_name, 0, sizeof(t->guest_name)) ||
	    strcmp(t->guest_name, guest ? guest : ""))
		h_err(c, "TAKEOVER: guest %.64s", t->guest_name);
	c->takeover = true;
	switch (c->mode) {
	case DEST_REFUSE_TAKEOVER:
		st = EPERM;
		c->t = T_REFUSED;
		break;
	case DEST_SILENT:
		c->t = T_REFUSED;
		return;			/* never answered */
	default:
		c->t = T_RESUMING;
		break;
	}
	h_answer(c, t->hdr.opcode, t->hdr.seq, st);
}

/* The same file, and the same bytes in it. */
static bool same_pages(int a, int b, uint32_t npages)
{
	size_t len = (size_t)npages * XENIB_PAGE_SIZE;
	struct stat sa, sb;
	void *pa, *pb;
	bool same;

	if (fstat(a, &sa) || fstat(b, &sb) || sa.st_ino != sb.st_ino ||
	    sa.st_dev != sb.st_dev)
		return false;
	pa = mmap(NULL, len, PROT_READ, MAP_SHARED, a, 0);
	pb = mmap(NULL, len, PROT_READ, MAP_SHARED, b, 0);
	same = pa != MAP_FAILED && pb != MAP_FAILED && !memcmp(pa, pb, len);
	if (pa != MAP_FAILED)
		munmap(pa, len);
	if (pb != MAP_FAILED)
		munmap(pb, len);
	return same;
}

static void resume_region(struct hctx *c, const void *msg, ssize_t n, int fd)
{
	const struct xenib_resume_region_req *r = msg;
	struct hreg *g;

	if (n != sizeof(*r) || fd < 0) {
		h_err(c, "RESUME_REGION: %zd bytes, fd %d", n, fd);
		h_answer(c, r->hdr.opcode, r->hdr.seq, EINVAL);
		h_close(&fd);
		return;
	}
	g = reg_find(c, r->handle);
	if (!g) {
		h_err(c, "RESUME_REGION of region %u, unknown to the source",
		      r->handle);
		h_answer(c, r->hdr.opcode, r->hdr.seq, ENOENT);
		h_close(&fd);
		return;
	}
	if (c->hv_resumed)
		h_err(c, "RESUME_REGION %u after the HV notifier's", r->handle);
	if (g->resumed)
		h_err(c, "RESUME_REGION %u twice", r->handle);
	if (r->npages != g->npages || r->ref)
		h_err(c, "RESUME_REGION %u: %u pages (has %u), ref %llu",
		      r->handle, r->npages, g->npages,
		      (unsigned long long)r->ref);
	else if (!same_pages(fd, g->fd, g->npages))
		h_err(c, "RESUME_REGION %u: not the region's memfd",
		      r->handle);
	g->resumed++;
	h_close(&g->res_fd);
	g->res_fd = fd;
	if (c->mode == DEST_REFUSE_REGION) {
		c->t = T_REFUSED;
		h_answer(c, r->hdr.opcode, r->hdr.seq, EINVAL);
		return;
	}
	h_answer(c, r->hdr.opcode, r->hdr.seq, 0);
}

static void resume_notify(struct hctx *c, const void *msg, ssize_t n, int fd)
{
	const struct xenib_resume_notify_req *r = msg;
	struct hnot *t;

	if (n != sizeof(*r) || fd < 0 || hv_notify_check(fd) || r->port) {
		h_err(c, "RESUME_NOTIFY: %zd bytes, fd %d, port %u", n, fd,
		      n == sizeof(*r) ? r->port : 0);
		h_answer(c, r->hdr.opcode, r->hdr.seq, EINVAL);
		h_close(&fd);
		return;
	}
	if (r->handle == H_HV_HANDLE) {
		if (c->hv_resumed)
			h_err(c, "RESUME_NOTIFY of the HV notifier twice");
		c->hv_resumed = true;
		h_close(&c->hv_new);
		c->hv_new = fd;
		h_answer(c, r->hdr.opcode, r->hdr.seq, 0);
		return;
	}
	t = not_find(c, r->handle);
	if (!t) {
		h_err(c, "RESUME_NOTIFY of notifier %u, unknown to the source",
		      r->handle);
		h_answer(c, r->hdr.opcode, r->hdr.seq, ENOENT);
		h_close(&fd);
		return;
	}
	if (c->hv_resumed)
		h_err(c, "RESUME_NOTIFY %u after the HV notifier's", r->handle);
	if (t->resumed)
		h_err(c, "RESUME_NOTIFY %u twice", r->handle);
	t->resumed++;
	h_close(&t->new_gb);
	t->new_gb = fd;
	h_answer(c, r->hdr.opcode, r->hdr.seq, 0);
}

/* Everything re-shared: the new ends take over from the old ones. */
static void resume_done(struct hctx *c, const struct xenib_ctrl_hdr *hd,
			ssize_t n)
{
	int i;

	if (n != sizeof(*hd))
		h_err(c, "RESUME_DONE of %zd bytes", n);
	for (i = 0; i < c->nregs; i++)
		if (c->regs[i].resumed != 1)
			h_err(c, "region %u resumed %d times", c->regs[i].handle,
			      c->regs[i].resumed);
	for (i = 0; i < c->nnots; i++)
		if (c->nots[i].resumed != 1)
			h_err(c, "notifier %u (kind %u) resumed %d times",
			      c->nots[i].handle, c->nots[i].kind,
			      c->nots[i].resumed);
	if (!c->hv_resumed)
		h_err(c, "RESUME_DONE before the HV notifier's RESUME_NOTIFY");
	for (i = 0; i < c->nnots; i++) {
		struct hnot *t = &c->nots[i];

		h_close(&t->old_gb);
		t->old_gb = t->gb;
		t->gb = t->new_gb;
		t->new_gb = -1;
		t->kicks = 0;
	}
	h_close(&c->hv_b);
	c->hv_b = c->hv_new;
	c->hv_new = -1;
	c->done = true;
	c->moves++;
	c->t = T_DONE;
	h_answer(c, hd->opcode, hd->seq, 0);
}

void dest_msg(struct hctx *c, const void *msg, ssize_t n, int fd)
{
	const struct xenib_ctrl_hdr *hd = msg;

	if (n < (ssize_t)sizeof(*hd) || hd->length != (size_t)n) {
		h_err(c, "a malformed message at the destination (%zd bytes)",
		      n);
		h_close(&fd);
		return;
	}
	if (c->t == T_REFUSED) {
		h_close(&fd);		/* refused or silent: nothing more */
		return;
	}
	if (c->t == T_TAKEOVER) {
		if (fd >= 0)
			h_err(c, "TAKEOVER with an fd");
		h_close(&fd);
		takeover(c, msg, n);
		return;
	}
	switch (hd->opcode) {
	case XENIB_CMD_RESUME_REGION:
		resume_region(c, msg, n, fd);
		return;
	case XENIB_CMD_RESUME_NOTIFY:
		resume_notify(c, msg, n, fd);
		return;
	case XENIB_CMD_RESUME_DONE:
		h_close(&fd);
		resume_done(c, hd, n);
		return;
	default:
		h_err(c, "opcode %u before RESUME_DONE", hd->opcode);
		h_close(&fd);
		h_answer(c, hd->opcode, hd->seq, EBUSY);
		return;
	}
}
