// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fake hosts (hosts.h): the loop, the source between the guest and the
 * real xenibd, and the calls the test makes.  One thread; every call of
 * the test takes the same lock, so the loop only ever sees whole changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "tests/move/hosts_int.h"
#include "util/hv.h"

void h_err(struct hctx *c, const char *fmt, ...)
{
	size_t used = strlen(c->err);
	va_list ap;

	if (used + 3 >= sizeof(c->err))
		return;
	if (used) {
		strcat(c->err, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(c->err + used, sizeof(c->err) - used, fmt, ap);
	va_end(ap);
}

void h_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void h_answer(struct hctx *c, uint16_t op, uint32_t seq, uint32_t status)
{
	struct xenib_ctrl_hdr r = {
		.opcode = op, .length = sizeof(r), .seq = seq, .status = status,
	};

	if (c->g >= 0 && hv_msg_send(c->g, &r, sizeof(r), -1))
		h_err(c, "cannot answer opcode %u", op);
}

static void ctx_free(struct hctx *c)
{
	int i;

	h_close(&c->x);
	h_close(&c->g);
	h_close(&c->listen);
	h_close(&c->hv_b);
	h_close(&c->hv_new);
	h_close(&c->fwd_fd);
	h_close(&c->fwd_px);
	for (i = 0; i < c->nregs; i++) {
		h_close(&c->regs[i].fd);
		h_close(&c->regs[i].res_fd);
	}
	for (i = 0; i < c->nnots; i++) {
		h_close(&c->nots[i].px);
		h_close(&c->nots[i].gb);
		h_close(&c->nots[i].old_gb);
		h_close(&c->nots[i].new_gb);
	}
	c->nregs = c->nnots = 0;
	c->used = false;
}

/* A guest connected to the source: a context, with its own xenibd link. */
static void src_accept(struct hosts *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hctx *c = NULL;
	int g, x, i;

	g = accept4(h->listen, NULL, NULL, SOCK_CLOEXEC);
	if (g < 0)
		return;
	for (i = 0; i < H_MAX_CTX && !c; i++)
		if (!h->ctx[i].used)
			c = &h->ctx[i];
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->xsock);
	x = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (!c || x < 0 || connect(x, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "hosts: cannot take a context (%s)\n",
			c ? strerror(errno) : "table full");
		if (x >= 0)
			close(x);
		close(g);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->x = x;
	c->g = g;
	c->listen = c->hv_b = c->hv_new = c->fwd_fd = c->fwd_px = -1;
}

/* The source's (or a destination's, once taken over) request path. */
static void guest_msg(struct hosts *h, struct hctx *c, void *msg, ssize_t n,
		      int fd)
{
	struct xenib_ctrl_hdr *hd = msg;
	int pass = fd, xb = -1, px;

	if (n < (ssize_t)sizeof(*hd)) {
		hv_msg_send(c->x, msg, (size_t)n, fd);
		h_close(&fd);
		return;
	}
	if (c->hold) {
		/* Frozen: never answered, never executed; then MOVE. */
		c->hold = false;
		c->held++;
		c->held_op = hd->opcode;
		c->held_seq = hd->seq;
		h_close(&fd);
		h_move(h, c);
		return;
	}
	c->requests++;
	if (c->held && hd->opcode == c->held_op && hd->seq == c->held_seq)
		c->held_at_dest++;
	if (c->fwd)
		h_err(c, "a second request while one is unanswered");
	c->fwd = true;
	c->fwd_op = hd->opcode;
	c->fwd_seq = hd->seq;
	if (hd->opcode == XENIB_CMD_BIND_NOTIFY &&
	    n == sizeof(struct xenib_bind_notify_req)) {
		const struct xenib_bind_notify_req *b = msg;

		if (b->kind == XENIB_NOTIFY_HV) {
			struct xenib_handle_resp r = {
				.hdr = { .opcode = hd->opcode,
					 .length = sizeof(r), .seq = hd->seq },
				.handle = H_HV_HANDLE,
			};

			c->fwd = false;
			if (c->hv_b >= 0 || fd < 0) {
				r.hdr.status = c->hv_b >= 0 ? EEXIST : EINVAL;
				r.hdr.length = sizeof(r.hdr);
				h_close(&fd);
			} else {
				c->hv_b = fd;
				h->last_hv = (int)(c - h->ctx);
				h->hv_binds++;
			}
			hv_msg_send(c->g, &r, r.hdr.length, -1);
			return;
		}
		if (fd >= 0 && !hv_notify_pair(&px, &xb)) {
			/* xenibd gets our pair; the guest's end stays here. */
			c->fwd_kind = b->kind;
			c->fwd_fd = fd;
			c->fwd_px = px;
			pass = xb;
			fd = -1;
		}
	} else if (hd->opcode == XENIB_CMD_MAP_REGION &&
		   n == sizeof(struct xenib_map_region_req) && fd >= 0) {
		const struct xenib_map_region_req *m = msg;

		c->fwd_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		c->fwd_npages = m->npages;
		c->fwd_flags = m->flags;
		c->fwd_offset = m->offset;
	} else if ((hd->opcode == XENIB_CMD_UNMAP_REGION ||
		    hd->opcode == XENIB_CMD_UNBIND_NOTIFY) &&
		   n == sizeof(struct xenib_handle_req)) {
		c->fwd_handle = ((const struct xenib_handle_req *)msg)->handle;
	}
	if (hv_msg_send(c->x, msg, (size_t)n, pass))
		h_err(c, "cannot pass opcode %u on", hd->opcode);
	h_close(&xb);
	h_close(&fd);
}

static void forget_handle(struct hctx *c)
{
	int i;

	for (i = 0; i < c->nregs && c->fwd_op == XENIB_CMD_UNMAP_REGION; i++)
		if (c->regs[i].handle == c->fwd_handle) {
			h_close(&c->regs[i].fd);
			h_close(&c->regs[i].res_fd);
			c->regs[i] = c->regs[--c->nregs];
			return;
		}
	for (i = 0; i < c->nnots && c->fwd_op == XENIB_CMD_UNBIND_NOTIFY; i++)
		if (c->nots[i].handle == c->fwd_handle) {
			h_close(&c->nots[i].px);
			h_close(&c->nots[i].gb);
			h_close(&c->nots[i].old_gb);
			h_close(&c->nots[i].new_gb);
			c->nots[i] = c->nots[--c->nnots];
			return;
		}
}

/* xenibd's answer: note the handles it gave, pass it back. */
static void backend_msg(struct hctx *c, void *msg, ssize_t n)
{
	struct xenib_ctrl_hdr *hd = msg;
	const struct xenib_handle_resp *r = msg;

	if (c->fwd && n >= (ssize_t)sizeof(*hd) && hd->seq == c->fwd_seq &&
	    hd->opcode == c->fwd_op) {
		bool ok = !hd->status && n == sizeof(*r);

		c->fwd = false;
		if (ok && c->fwd_op == XENIB_CMD_MAP_REGION &&
		    c->nregs < H_MAX_REG && c->fwd_fd >= 0) {
			c->regs[c->nregs++] = (struct hreg){
				.handle = r->handle, .npages = c->fwd_npages,
				.flags = c->fwd_flags, .fd = c->fwd_fd,
				.offset = c->fwd_offset, .res_fd = -1,
			};
			c->fwd_fd = -1;
		} else if (ok && c->fwd_op == XENIB_CMD_BIND_NOTIFY &&
			   c->nnots < H_MAX_NOT && c->fwd_px >= 0) {
			c->nots[c->nnots++] = (struct hnot){
				.handle = r->handle, .kind = c->fwd_kind,
				.px = c->fwd_px, .gb = c->fwd_fd,
				.old_gb = -1, .new_gb = -1,
			};
			c->fwd_px = c->fwd_fd = -1;
		} else if (!hd->status) {
			forget_handle(c);
		}
		h_close(&c->fwd_fd);
		h_close(&c->fwd_px);
	}
	if (c->g >= 0 && hv_msg_send(c->g, msg, (size_t)n, -1))
		h_err(c, "cannot pass an answer back");
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

enum tag { TAG_WAKE, TAG_SRC, TAG_X, TAG_G, TAG_LISTEN, TAG_PX, TAG_GB };

struct slot {
	enum tag tag;
	int ci, ni;
};

#define H_MAX_FDS (2 + H_MAX_CTX * (3 + 2 * H_MAX_NOT))

static void relay_signal(int from, int to, unsigned int *count)
{
	uint64_t n = hv_notify_drain(from);

	if (count)
		*count += (unsigned int)n;
	if (n && to >= 0)
		hv_notify_signal(to);
}

static void on_event(struct hosts *h, const struct slot *s, int fd)
{
	struct hctx *c = s->tag >= TAG_X ? &h->ctx[s->ci] : NULL;
	union {
		struct xenib_ctrl_hdr hdr;
		uint8_t b[XENIB_CTRL_MAX_MSG];
	} m;
	ssize_t n;
	int rfd;

	switch (s->tag) {
	case TAG_WAKE:
		while (read(fd, m.b, sizeof(m.b)) > 0)
			;
		return;
	case TAG_SRC:
		src_accept(h);
		return;
	case TAG_LISTEN:
		if (fd != c->listen)
			return;
		c->g = accept4(c->listen, NULL, NULL, SOCK_CLOEXEC);
		h_close(&c->listen);
		if (c->g >= 0)
			c->t = T_TAKEOVER;
		return;
	case TAG_X:
		if (fd != c->x)
			return;
		n = hv_msg_recv(c->x, m.b, sizeof(m.b), &rfd);
		h_close(&rfd);
		if (n <= 0) {
			/* xenibd let go of the context: hang the guest up. */
			c->dead = true;
			ctx_free(c);
			return;
		}
		backend_msg(c, m.b, n);
		return;
	case TAG_G:
		if (fd != c->g)
			return;
		n = hv_msg_recv(c->g, m.b, sizeof(m.b), &rfd);
		if (n <= 0) {
			/* The guest closed the context. */
			h_close(&rfd);
			c->dead = true;
			ctx_free(c);
			return;
		}
		if (c->t == T_TAKEOVER || c->t == T_RESUMING ||
		    c->t == T_REFUSED)
			dest_msg(c, m.b, n, rfd);
		else
			guest_msg(h, c, m.b, n, rfd);
		return;
	case TAG_PX:
		if (fd == c->nots[s->ni].px)
			relay_signal(fd, c->nots[s->ni].gb, NULL);
		return;
	case TAG_GB:
		if (fd == c->nots[s->ni].gb)
			relay_signal(fd, c->nots[s->ni].px,
				     &c->nots[s->ni].kicks);
		return;
	}
}

static void *loop(void *arg)
{
	static struct pollfd pfd[H_MAX_FDS];
	static struct slot sl[H_MAX_FDS];
	struct hosts *h = arg;
	int n, i, j;

	for (;;) {
		pthread_mutex_lock(&h->lock);
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			return NULL;
		}
#define ADD(f, t, c_, n_) do {						\
		if ((f) >= 0) {						\
			pfd[n] = (struct pollfd){ .fd = (f), .events = POLLIN }; \
			sl[n++] = (struct slot){ (t), (c_), (n_) };	\
		}							\
	} while (0)
		n = 0;
		ADD(h->wake[0], TAG_WAKE, 0, 0);
		ADD(h->listen, TAG_SRC, 0, 0);
		for (i = 0; i < H_MAX_CTX; i++) {
			struct hctx *c = &h->ctx[i];

			if (!c->used)
				continue;
			ADD(c->x, TAG_X, i, 0);
			ADD(c->g, TAG_G, i, 0);
			ADD(c->listen, TAG_LISTEN, i, 0);
			for (j = 0; j < c->nnots; j++) {
				ADD(c->nots[j].px, TAG_PX, i, j);
				ADD(c->nots[j].gb, TAG_GB, i, j);
			}
		}
#undef ADD
		pthread_mutex_unlock(&h->lock);
		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;
		pthread_mutex_lock(&h->lock);
		for (i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			/* Still the same context?  (the test may change it) */
			if (sl[i].tag >= TAG_X && !h->ctx[sl[i].ci].used)
				continue;
			if ((sl[i].tag == TAG_PX || sl[i].tag == TAG_GB) &&
			    sl[i].ni >= h->ctx[sl[i].ci].nnots)
				continue;
			on_event(h, &sl[i], pfd[i].fd);
		}
		pthread_mutex_unlock(&h->lock);
	}
}

static void wake(struct hosts *h)
{
	char b = 1;

	if (write(h->wake[1], &b, 1) < 0) {
		/* full: awake anyway */
	}
}

struct hosts *hosts_start(const char *xenibd_dir, const char *guest_dir)
{
	struct hosts *h = calloc(1, sizeof(*h));
	int i;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->last_hv = -1;
	for (i = 0; i < H_MAX_CTX; i++)
		h->ctx[i].used = false;
	if (hv_emu_sock_path(h->xsock, sizeof(h->xsock), xenibd_dir,
			     "xenib0") ||
	    snprintf(h->gdir, sizeof(h->gdir), "%s", guest_dir) >=
		    (int)sizeof(h->gdir) ||
	    pipe2(h->wake, O_CLOEXEC | O_NONBLOCK)) {
		free(h);
		return NULL;
	}
	h->listen = hv_emu_listen(guest_dir, "xenib0");
	if (h->listen < 0 || pthread_create(&h->th, NULL, loop, h)) {
		fprintf(stderr, "hosts: cannot listen in %s\n", guest_dir);
		free(h);
		return NULL;
	}
	return h;
}

void hosts_stop(struct hosts *h)
{
	int i;

	pthread_mutex_lock(&h->lock);
	h->stop = true;
	wake(h);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->th, NULL);
	for (i = 0; i < H_MAX_CTX; i++)
		if (h->ctx[i].used)
			ctx_free(&h->ctx[i]);
	close(h->listen);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* ------------------------------------------------------------------ */
/* Moves                                                               */

static struct hctx *ctx_of(struct hosts *h, int k)
{
	if (k < 0 || k >= H_MAX_CTX || !h->ctx[k].used)
		return NULL;
	return &h->ctx[k];
}

/* h->lock held: MOVE to a fresh destination, then let go of the guest. */
void h_move(struct hosts *h, struct hctx *c)
{
	struct xenib_emu_move mv = { .magic = XENIB_EMU_MOVE_MAGIC };
	int i;

	snprintf(c->token, sizeof(c->token), "%024x", 0x7e57u + ++h->ntokens);
	snprintf(c->path, sizeof(c->path), "%s/dest%u.sock", h->gdir,
		 h->ntokens);
	memcpy(mv.token, c->token, sizeof(mv.token));
	memcpy(mv.path, c->path, sizeof(mv.path));
	if (c->mode != DEST_ABSENT) {
		c->listen = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
				   SOCK_NONBLOCK, 0);
		if (c->listen >= 0) {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };

			memcpy(sa.sun_path, c->path, sizeof(c->path));
			unlink(c->path);
			if (bind(c->listen, (struct sockaddr *)&sa,
				 sizeof(sa)) || listen(c->listen, 4)) {
				h_err(c, "cannot listen at %s", c->path);
				h_close(&c->listen);
			}
		}
	}
	for (i = 0; i < c->nregs; i++)
		c->regs[i].resumed = 0;
	for (i = 0; i < c->nnots; i++)
		c->nots[i].resumed = 0;
	c->hv_resumed = c->takeover = c->done = false;
	c->requests = 0;
	c->t = T_WAIT;
	if (c->hv_b < 0 || send(c->hv_b, &mv, sizeof(mv), MSG_DONTWAIT) !=
			   (ssize_t)sizeof(mv))
		h_err(c, "cannot send MOVE");
	/* The source lets go: the guest's old channel hangs up. */
	h_close(&c->g);
	wake(h);
}

int hosts_move_on_next(struct hosts *h, int k, enum dest_mode mode)
{
	struct hctx *c;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	if (c) {
		c->mode = mode;
		c->hold = true;
	}
	pthread_mutex_unlock(&h->lock);
	return c ? 0 : ENOENT;
}

int hosts_move_now(struct hosts *h, int k, enum dest_mode mode)
{
	struct hctx *c;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	if (c) {
		c->mode = mode;
		h_move(h, c);
	}
	pthread_mutex_unlock(&h->lock);
	return c ? 0 : ENOENT;
}

int hosts_hv_send(struct hosts *h, int k, const void *buf, size_t len)
{
	struct hctx *c;
	int err = ENOENT;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	if (c && c->hv_b >= 0)
		err = send(c->hv_b, buf, len, MSG_DONTWAIT) == (ssize_t)len ?
			      0 : errno;
	pthread_mutex_unlock(&h->lock);
	return err;
}

int hosts_kill(struct hosts *h, int k)
{
	struct hctx *c;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	if (c) {
		h_close(&c->g);
		wake(h);
	}
	pthread_mutex_unlock(&h->lock);
	return c ? 0 : ENOENT;
}

int hosts_last_ctx(struct hosts *h, unsigned int *binds)
{
	int k;

	pthread_mutex_lock(&h->lock);
	k = h->last_hv;
	if (binds)
		*binds = h->hv_binds;
	pthread_mutex_unlock(&h->lock);
	return k;
}

int hosts_report(struct hosts *h, int k, struct move_report *r)
{
	struct hctx *c;
	int i;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&h->lock);
	c = (k >= 0 && k < H_MAX_CTX) ? &h->ctx[k] : NULL;
	if (c) {
		r->moves = c->moves;
		r->takeover = c->takeover;
		r->done = c->done;
		r->refused = c->t == T_REFUSED;
		r->regions = c->nregs;
		for (i = 0; i < c->nregs; i++)
			r->regions_resumed += c->regs[i].resumed;
		r->notifies = c->nnots;
		for (i = 0; i < c->nnots; i++)
			r->notifies_resumed += c->nots[i].resumed;
		r->hv_resumed = c->hv_resumed;
		r->held = c->held;
		r->held_op = c->held_op;
		r->held_at_dest = c->held_at_dest;
		r->requests = c->requests;
		r->dead = c->dead || !c->used;
		snprintf(r->err, sizeof(r->err), "%s", c->err);
	}
	pthread_mutex_unlock(&h->lock);
	return c ? 0 : ENOENT;
}

int hosts_signal(struct hosts *h, int k, uint32_t kind, bool old)
{
	struct hctx *c;
	int err = ENOENT, i;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	for (i = 0; c && i < c->nnots; i++) {
		int fd = old ? c->nots[i].old_gb : c->nots[i].gb;

		if (c->nots[i].kind != kind || fd < 0)
			continue;
		err = send(fd, "s", 1, MSG_DONTWAIT) == 1 ? 0 : errno;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return err;
}

unsigned long hosts_notify_ino(struct hosts *h, int k, uint32_t kind,
			       bool old)
{
	unsigned long ino = 0;
	struct hctx *c;
	struct stat st;
	int i;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	for (i = 0; c && i < c->nnots; i++) {
		int fd = old ? c->nots[i].old_gb : c->nots[i].gb;

		if (c->nots[i].kind == kind && fd >= 0 && !fstat(fd, &st)) {
			ino = st.st_ino;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return ino;
}

unsigned int hosts_kicks(struct hosts *h, int k)
{
	struct hctx *c;
	unsigned int n = 0;
	int i;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	for (i = 0; c && i < c->nnots; i++)
		if (c->nots[i].kind == XENIB_NOTIFY_DOORBELL)
			n += c->nots[i].kicks;
	pthread_mutex_unlock(&h->lock);
	return n;
}

int hosts_backend_sleeping(struct hosts *h, int k)
{
	struct hctx *c;
	int v = -1, i;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	for (i = 0; c && i < c->nregs; i++) {
		struct xenib_ctx_page *p;

		if (!(c->regs[i].flags & XENIB_REGION_CTX_PAGE))
			continue;
		p = mmap(NULL, XENIB_PAGE_SIZE, PROT_READ, MAP_SHARED,
			 c->regs[i].fd, 0);
		if (p != MAP_FAILED) {
			v = __atomic_load_n(&p->backend_sleeping,
					    __ATOMIC_ACQUIRE) != 0;
			munmap(p, XENIB_PAGE_SIZE);
		}
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return v;
}

int hosts_find_resumed(struct hosts *h, int k, const void *va,
		       uint32_t npages, uint64_t *offset)
{
	size_t len = (size_t)npages * XENIB_PAGE_SIZE;
	struct hctx *c;
	int fd = -1, i;

	pthread_mutex_lock(&h->lock);
	c = ctx_of(h, k);
	for (i = 0; c && i < c->nregs && fd < 0; i++) {
		void *p;

		if (c->regs[i].npages != npages || c->regs[i].res_fd < 0)
			continue;
		/* Where MAP_REGION said the pages are in the object. */
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, c->regs[i].res_fd,
			 (off_t)c->regs[i].offset);
		if (p == MAP_FAILED)
			continue;
		if (!memcmp(p, va, len)) {
			fd = fcntl(c->regs[i].res_fd, F_DUPFD_CLOEXEC, 0);
			*offset = c->regs[i].offset;
		}
		munmap(p, len);
	}
	pthread_mutex_unlock(&h->lock);
	return fd;
}
