// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The embedded emulation's transport (DESIGN.md section 4): a guest
 * process connects to DIR/xenibN.sock; its control channel is that
 * SOCK_SEQPACKET connection, its shared memory sealed memfds passed over
 * it, its notifiers the backend ends of SOCK_DGRAM socketpairs
 * (util/hv.h).  The guest's identity is the name it claims in HELLO.
 *
 * Every fd the emulation keeps for a guest (its contexts' sockets, the
 * memfds of its regions, its notifiers) is one of xenibd's: they are
 * charged to the guest (limit.fds, limit.contexts) and counted here
 * against what the process may open, and contexts that have not said
 * HELLO yet are few (the oldest is dropped for a new one).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/hv.h"
#include "util/maps.h"
#include "util/rawsys.h"
#include "xenibd/dev/dev.h"
#include "xenibd/daemon/loop.h"
#include "xenibd/transport/emu.h"
#include "xenibd/transport/emu_guard.h"
#include "xenibd/transport/emu_int.h"
#include "xenibd/transport/emu_node.h"
#include "xenibd/transport/emu_sock.h"
#include "xenibd/transport/guest_name.h"
#include "xenibd/transport/transport.h"

static struct xd_watch listener = { .fd = -1 };
/* The device this xenibd serves (ATTACH names it); empty in-process. */
static char emu_devname[64];

/*
 * Kicks drained per doorbell event.  A guest writing its doorbell from
 * several threads keeps the queue from ever running empty; epoll is
 * level-triggered, so the rest wake the loop again once the other sources
 * had their turn.
 */
#define EMU_DRAIN_MAX		64

/*
 * Contexts that have not said HELLO belong to no guest, so no guest limit
 * holds them: at most this many; a new one drops the oldest.
 */
#define EMU_MAX_PENDING		64
static struct list_node pending = LIST_INIT(pending);
static unsigned int npending;

/*
 * fds this transport keeps, and what it leaves the rest of xenibd (admin
 * clients, epoll, logs, fds in flight) of the process's RLIMIT_NOFILE.
 */
static unsigned int emu_fds;
#define EMU_FD_RESERVE		64

/* When accept() fails for want of fds: listen again after this long. */
#define EMU_ACCEPT_PAUSE_NS	(100 * 1000 * 1000ull)
static struct xd_ratelimit accept_rl;

/* The context whose request is being handled (NULL once it is freed). */
static struct emu_ctx *handling;


/* May the emulation keep one more fd for guests?  0 or EMFILE. */
static int fd_room(void)
{
	struct rlimit rl;
	rlim_t budget;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	budget = rl.rlim_cur > 2 * EMU_FD_RESERVE ?
		 rl.rlim_cur - EMU_FD_RESERVE : rl.rlim_cur / 2;
	return emu_fds < budget ? 0 : EMFILE;
}

/* Charge one fd the guest of ctx makes us keep.  0 or errno. */
static int fd_charge(struct xd_ctx *ctx)
{
	int err = xd_quota_check(ctx, XD_Q_FDS, 1);

	if (!err && fd_room()) {
		xd_ctx_log(ctx, "xenibd is out of fds for guests (%u held)",
			   emu_fds);
		err = EMFILE;
	}
	if (err)
		return err;
	xd_quota_charge(ctx, XD_Q_FDS, 1);
	emu_fds++;
	return 0;
}

static void fd_uncharge(struct xd_ctx *ctx)
{
	xd_quota_uncharge(ctx, XD_Q_FDS, 1);
	emu_fds--;
}

/* May this context's process use the device (its node's mode)? */
static int node_gate(struct xd_ctx *ctx, const char *what)
{
	char why[160];
	int err = xd_emu_node_allows(&EMU_CTX(ctx)->who, why, sizeof(why));

	if (err)
		xd_ctx_log(ctx, "%s refused: %s", what, why);
	return err;
}

/* An importer (ATTACH) is a process of its own: gated like one. */
static int emu_admit(struct xd_ctx *ctx)
{
	return node_gate(ctx, "ATTACH");
}

/*
 * The name is the guest's claim; it goes into log lines and `xenibctl
 * guests`, so it follows the rule of Xen's domain names.
 */
static int emu_guest_name(struct xd_ctx *ctx, const char *claimed, char *name,
			  size_t len)
{
	int err = node_gate(ctx, "HELLO");

	if (err)
		return err;
	if (!xd_name_ok(claimed, len)) {
		xd_ctx_log(ctx, "HELLO: guest name refused (empty, or with "
			   "blanks, control characters or '/')");
		return EINVAL;
	}
	snprintf(name, len, "%s", claimed);
	return 0;
}

static int emu_reply(struct xd_ctx *ctx, const void *resp, size_t len)
{
	if (EMU_CTX(ctx)->sock < 0)
		return EPIPE;
	return hv_msg_send(EMU_CTX(ctx)->sock, resp, len, -1);
}

void xd_emu_fd_count(int delta)
{
	emu_fds += delta;
}

static void emu_describe(const struct xd_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "pid %d", (int)EMU_CTX(ctx)->pid);
}

static void pending_del(struct emu_ctx *ec)
{
	if (!ec->pending)
		return;
	list_del(&ec->plink);
	ec->pending = false;
	npending--;
}

/* The context's channel closed: no more requests, no more answers. */
static void channel_close(struct emu_ctx *ec)
{
	if (handling == ec)
		handling = NULL;
	pending_del(ec);
	xd_loop_unwatch(&ec->w);
	if (ec->sock >= 0) {
		close(ec->sock);
		emu_fds--;
	}
	ec->sock = -1;
}

static void emu_release(struct xd_ctx *ctx)
{
	struct emu_ctx *ec = EMU_CTX(ctx);

	channel_close(ec);
	free(ec);
}

/*
 * Only a guest process in our IPC namespace names our segments (the pid is
 * the connecting process's; one that passed its socket on and exited
 * names nothing).
 */
static bool same_ipc_ns(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", (int)pid);
	return !stat(path, &a) && !stat("/proc/self/ns/ipc", &b) &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/*
 * Does the guest have segment shmid attached read-write right now?  Only
 * then may it name it: a segment's id is no secret, and whatever its
 * permissions say, a guest gets no segment it did not attach itself.
 */
static bool guest_attached(pid_t pid, uint64_t shmid)
{
	struct hv_maps m;
	bool found = false;
	size_t i;

	if (hv_maps_read_pid(&m, (int)pid, 0, UINTPTR_MAX))
		return false;
	for (i = 0; i < m.n && !found; i++)
		found = m.v[i].shared && m.v[i].ino == shmid &&
			(m.v[i].prot & (PROT_READ | PROT_WRITE)) ==
			(PROT_READ | PROT_WRITE) &&
			!strncmp(m.v[i].path, "/SYSV", 5);
	hv_maps_free(&m);
	return found;
}

/* MAP_REGION without an fd: the SysV segment req->ref (xenib-abi.h). */
static int map_sysv(struct emu_ctx *ec, const struct xenib_map_region_req *req,
		    struct emu_region *er)
{
	size_t seg_len;
	int err;

	if (req->ref > INT32_MAX || ec->pid <= 0 || !same_ipc_ns(ec->pid) ||
	    !guest_attached(ec->pid, req->ref)) {
		xd_ctx_log(&ec->ctx, "MAP_REGION: no fd, and SysV segment %llu "
			   "is not one the guest has attached",
			   (unsigned long long)req->ref);
		return EBADF;
	}
	err = hv_backend_attach_sysv((int)req->ref, req->offset, er->r.len,
				     &ec->who, &er->seg, &seg_len);
	if (err) {
		xd_ctx_log(&ec->ctx, "MAP_REGION: SysV segment %llu refused: %s",
			   (unsigned long long)req->ref, strerror(err));
		return err;
	}
	er->r.va = (char *)er->seg + req->offset;
	return 0;
}

static int emu_region_map(struct xd_ctx *ctx,
			  const struct xenib_map_region_req *req, int *fd,
			  struct xd_region **out)
{
	struct emu_ctx *ec = EMU_CTX(ctx);
	struct hv_obj_info info = { .page = 4096, .sealed = false };
	struct emu_region *er;
	int err;

	if (*fd >= 0) {
		err = fd_charge(ctx);
		if (err)
			return err;
	}
	er = calloc(1, sizeof(*er));
	if (!er) {
		err = ENOMEM;
		goto fail;
	}
	er->fd = -1;
	er->r.len = (size_t)req->npages * XENIB_PAGE_SIZE;
	if (*fd >= 0) {
		/* Checks the kind and size: a shrunk memfd would fault us. */
		er->r.va = hv_backend_map(*fd, req->offset, er->r.len, &info);
		err = er->r.va ? 0 : errno;
	} else {
		err = map_sysv(ec, req, er);
	}
	if (err)
		goto fail;
	er->page = info.page;
	if (!info.sealed) {
		err = xd_guard_add(er->r.va, er->r.len, er->page);
		if (err) {
			if (er->seg)
				shmdt(er->seg);
			else
				hv_backend_unmap(er->r.va, er->r.len);
			goto fail;
		}
		er->guarded = true;
	}
	er->offset = req->offset;
	if (*fd >= 0) {
		er->fd = *fd;
		*fd = -1;	/* the region owns it now */
	}
	*out = &er->r;
	return 0;
fail:
	free(er);
	if (*fd >= 0)
		fd_uncharge(ctx);
	return err;
}

static void emu_region_free(struct xd_region *r)
{
	struct emu_region *er = EMU_REGION(r);

	if (er->guarded && xd_guard_del(r->va))
		xd_ctx_log(r->ctx, "region %u: the guest shrank the memory it "
			   "shares; its missing pages read as zeros", r->h.id);
	if (er->seg) {
		shmdt(er->seg);
	} else {
		hv_backend_unmap(r->va, r->len);
		close(er->fd);
		fd_uncharge(r->ctx);
	}
	free(er);
}

/*
 * An MR view piece over r: the object mapped again at at, or for a SysV
 * segment (no fd) the same pages mapped again (mremap of a shared mapping
 * with old size 0).  Huge pages cannot be mapped at 4 KiB offsets: the
 * device model then uses the region's own mapping (EOPNOTSUPP).
 */
static int emu_segment_map(struct xd_region *r, uint64_t off, size_t len,
			   void *at)
{
	struct emu_region *er = EMU_REGION(r);
	int err = 0;

	if (er->page != 4096)
		return EOPNOTSUPP;
	if (er->fd >= 0)
		err = hv_backend_map_fixed(at, er->fd, er->offset + off, len);
	else if (raw_mremap((char *)r->va + off, 0, len,
			    MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
		err = errno;
	if (!err && er->guarded)
		err = xd_guard_add(at, len, er->page);
	return err;
}

/* The MR's view is unmapped as a whole right after its segments. */
static void emu_segment_unmap(struct xd_region *r, void *at, size_t len)
{
	if (EMU_REGION(r)->guarded && xd_guard_del(at))
		xd_ctx_log(r->ctx, "region %u: the guest shrank the memory it "
			   "shares; its missing pages read as zeros", r->h.id);
}

/* A kick: the loop is awake now, which was the point; count it. */
static void doorbell_ready(struct xd_watch *w, uint32_t events)
{
	struct emu_notify *en = container_of(w, struct emu_notify, w);

	xd_notify_doorbell(&en->n, xd_emu_drain(en->fd, EMU_DRAIN_MAX));
}

static int emu_notify_bind(struct xd_ctx *ctx,
			   const struct xenib_bind_notify_req *req, int *fd,
			   struct xd_notify **out)
{
	struct emu_notify *en;
	const char *why;
	int err;

	if (*fd < 0)
		return EBADF;
	if (xd_emu_notify_check(*fd, EMU_CTX(ctx)->pid, &why)) {
		xd_ctx_log(ctx, "BIND_NOTIFY: fd refused: %s", why);
		return EINVAL;
	}
	err = fd_charge(ctx);
	if (err)
		return err;
	en = calloc(1, sizeof(*en));
	if (!en) {
		fd_uncharge(ctx);
		return ENOMEM;
	}
	en->fd = *fd;
	en->w.fd = -1;
	if (req->kind == XENIB_NOTIFY_DOORBELL) {
		err = xd_loop_watch(&en->w, en->fd, EPOLLIN, doorbell_ready);
		if (err) {
			free(en);
			fd_uncharge(ctx);
			return err;
		}
	}
	*fd = -1;
	*out = &en->n;
	return 0;
}

/*
 * The guest may keep a copy of the fd and connect() it elsewhere after
 * BIND_NOTIFY: look where it points before each write.
 */
static void emu_notify_signal(struct xd_notify *n)
{
	struct emu_notify *en = EMU_NOTIFY(n);
	int st;

	if (en->dead)
		return;
	st = xd_emu_peer_state(en->fd);
	if (st) {
		en->dead = true;
		if (st == EADDRINUSE)
			xd_ctx_log(n->ctx, "notifier %u was connected to "
				   "another socket; no longer signalled",
				   n->h.id);
		return;
	}
	hv_notify_signal(en->fd);
}

static void emu_notify_free(struct xd_notify *n)
{
	struct emu_notify *en = EMU_NOTIFY(n);

	xd_loop_unwatch(&en->w);
	close(en->fd);
	fd_uncharge(n->ctx);
	free(en);
}

static struct xd_ctx *emu_attach(struct xd_ctx *ctx, int fd,
				 const char *dev_name, int *err);
static void emu_hangup(struct xd_ctx *ctx);

const struct xd_transport xd_emu_transport = {
	.name = "emulated",
	.same_clock = true,	/* guests are processes of this kernel */
	.guest_name = emu_guest_name,
	.reply = emu_reply,
	.describe = emu_describe,
	.release = emu_release,
	.region_map = emu_region_map,
	.region_free = emu_region_free,
	.segment_map = emu_segment_map,
	.segment_unmap = emu_segment_unmap,
	.notify_bind = emu_notify_bind,
	.notify_signal = emu_notify_signal,
	.notify_free = emu_notify_free,
	.request = xd_emu_request,
	.request_phase = xd_emu_request_phase,
	.freeze = xd_emu_freeze,
	.thaw = xd_emu_thaw,
	.move = xd_emu_move,
	.adopt = xd_emu_adopt,
	.addr = xd_emu_addr,
	.attach = emu_attach,
	.admit = emu_admit,
	.hangup = emu_hangup,
};

/* One message on a context's socket: a request, or the guest gone. */
void xd_emu_ctx_ready(struct xd_watch *w, uint32_t events)
{
	struct emu_ctx *ec = container_of(w, struct emu_ctx, w);
	union {
		struct xenib_ctrl_hdr hdr;
		char buf[XENIB_CTRL_MAX_MSG];
	} msg;
	ssize_t n;
	int fd;

	n = hv_msg_recv(ec->sock, msg.buf, sizeof(msg.buf), &fd);
	if (n == -EAGAIN)
		return;
	if (n == 0 || (n < 0 && n != -EMSGSIZE)) {
		xd_dbg("context of pid %d closed", (int)ec->pid);
		xd_ctx_destroy(&ec->ctx);
		return;
	}
	/* A guest that moved here takes over its adopted context. */
	if (ec->pending && !ec->ctx.hello && fd < 0 &&
	    xd_emu_takeover(ec, msg.buf, n))
		return;
	handling = ec;
	xd_ctrl_handle(&ec->ctx, msg.buf, n, fd);
	/* Said HELLO (and still there): a guest's limits hold it now. */
	if (handling && handling->ctx.hello)
		pending_del(handling);
	handling = NULL;
}

struct xd_ctx *xd_emu_ctx_new(int sock)
{
	struct emu_ctx *ec = calloc(1, sizeof(*ec));

	if (!ec)
		return NULL;
	if (xd_loop_watch(&ec->w, sock, EPOLLIN, xd_emu_ctx_ready)) {
		free(ec);
		return NULL;
	}
	ec->sock = sock;
	emu_fds++;
	hv_emu_peer_pid(sock, &ec->pid);
	hv_emu_peer_creds(sock, &ec->who);
	xd_ctx_init(&ec->ctx, &xd_emu_transport);
	list_add_tail(&pending, &ec->plink);
	ec->pending = true;
	npending++;
	return &ec->ctx;
}

/* Is fd a connected unix SOCK_SEQPACKET socket (a channel's end)? */
static bool is_channel(int fd)
{
	int type = 0, domain = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(domain);
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);

	return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) &&
	       !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) &&
	       type == SOCK_SEQPACKET && domain == AF_UNIX &&
	       !getpeername(fd, (struct sockaddr *)&peer, &plen);
}

/*
 * ATTACH (dev/share.c): the importer's end of a fresh channel came with a
 * request on ctx's own channel.  It becomes a context like an accepted
 * one, already past HELLO (the device model fills in its guest).
 */
static struct xd_ctx *emu_attach(struct xd_ctx *ctx, int fd,
				 const char *dev_name, int *err)
{
	struct xd_ctx *nctx;
	int fl;

	if (emu_devname[0] && strcmp(dev_name, emu_devname)) {
		*err = ENODEV;
		return NULL;
	}
	if (!is_channel(fd)) {
		xd_ctx_log(ctx, "ATTACH: the fd is not a connected unix "
			   "SOCK_SEQPACKET socket");
		*err = EINVAL;
		return NULL;
	}
	*err = fd_room();
	if (*err)
		return NULL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK)) {
		*err = errno;
		return NULL;
	}
	nctx = xd_emu_ctx_new(fd);
	if (!nctx) {
		*err = errno ? errno : ENOMEM;
		return NULL;
	}
	pending_del(EMU_CTX(nctx));
	return nctx;
}

/* A zombie context (dev/share.c): no channel any more. */
static void emu_hangup(struct xd_ctx *ctx)
{
	struct emu_ctx *ec = EMU_CTX(ctx);

	channel_close(ec);
}

/* accept() failed for want of resources: stop listening for a while. */
static void accept_failed(struct xd_watch *w, int err)
{
	int perr = xd_loop_pause(w, EMU_ACCEPT_PAUSE_NS);

	if (xd_ratelimit(&accept_rl, 1, "accept: "))
		xd_log("cannot accept guests: %s (%u fds held for guests); "
		       "not listening for %llu ms%s", strerror(err), emu_fds,
		       EMU_ACCEPT_PAUSE_NS / 1000000,
		       perr ? " (cannot pause the listener)" : "");
}

static void listener_ready(struct xd_watch *w, uint32_t events)
{
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_failed(w, errno);
		return;
	}
	if (fd_room()) {
		/* The connection sees EOF at once: no context for it. */
		close(fd);
		if (xd_ratelimit(&accept_rl, 1, "accept: "))
			xd_log("cannot accept guests: xenibd is out of fds for "
			       "guests (%u held)", emu_fds);
		return;
	}
	if (npending >= EMU_MAX_PENDING) {
		struct emu_ctx *old = list_entry(pending.next, struct emu_ctx,
						 plink);

		xd_dbg("dropping the context of pid %d: no HELLO yet and %u "
		       "newer ones", (int)old->pid, npending);
		xd_ctx_destroy(&old->ctx);
	}
	if (!xd_emu_ctx_new(fd)) {
		xd_log("cannot accept a context: %s", strerror(errno));
		close(fd);
		return;
	}
	xd_dbg("context from a new guest process");
}

int xd_emu_listen(const char *dir, const char *devname)
{
	int fd = hv_emu_listen(dir, devname);
	int err;

	if (fd < 0)
		return -fd;
	err = xd_loop_watch(&listener, fd, EPOLLIN, listener_ready);
	if (err) {
		close(fd);
		return err;
	}
	snprintf(emu_devname, sizeof(emu_devname), "%s", devname);
	{
		char path[108];

		if (!hv_emu_sock_path(path, sizeof(path), dir, devname))
			xd_emu_set_addr(path);
	}
	return 0;
}

void xd_emu_fini(const char *dir, const char *devname)
{
	char path[512];
	int fd = listener.fd;

	if (fd < 0)
		return;	/* never remove another daemon's socket */
	xd_loop_unwatch(&listener);
	close(fd);
	if (!hv_emu_sock_path(path, sizeof(path), dir, devname))
		unlink(path);
}
