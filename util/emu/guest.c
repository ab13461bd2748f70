// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The embedded emulation as the provider's hypervisor (util/hv_guest.h).
 *
 * Every <run dir>/xenib*.sock socket is one device.  A context's control
 * channel is a connection to it; shared memory and notifier ends travel
 * as fds with MAP_REGION and BIND_NOTIFY.  The doorbell is a notifier the
 * connection keeps: kicking it is one datagram.
 *
 * Each connection keeps the books a move to another backend needs
 * (guest.h): its regions, its notifiers, and its HV notifier, bound right
 * after the context page (move.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "util/emu/guest.h"

static bool emu_present(void)
{
	return true;		/* built in */
}

/* "xenib0.sock" -> "xenib0" in name; false if not a device socket. */
static bool dev_name_of(const char *file, char *name, size_t max)
{
	size_t len = strlen(file);
	const size_t sfx = sizeof(".sock") - 1;

	if (strncmp(file, "xenib", 5) || len <= sfx + 5 ||
	    strcmp(file + len - sfx, ".sock") || len - sfx >= max)
		return false;
	memcpy(name, file, len - sfx);
	name[len - sfx] = 0;
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = a, *y = b;
	size_t lx = strlen(x), ly = strlen(y);

	/* xenib2 before xenib10 */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
}

#define EMU_NAME_MAX 64		/* IBV_SYSFS_NAME_MAX */

static int emu_discover(hv_found_fn found, void *arg)
{
	char (*names)[EMU_NAME_MAX] = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	d = opendir(hv_emu_dir());
	if (!d)
		return errno;
	while ((de = readdir(d))) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *nn = realloc(names, ncap * sizeof(*names));

			if (!nn)
				break;
			names = nn;
			cap = ncap;
		}
		if (dev_name_of(de->d_name, names[n], sizeof(names[n])))
			n++;
	}
	closedir(d);

	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		found(arg, names[i]);
	free(names);
	return 0;
}

static void emu_where(const char *devname, char *buf, size_t len)
{
	if (hv_emu_sock_path(buf, len, hv_emu_dir(), devname))
		snprintf(buf, len, "%s", devname);
}

/* xenibd names the node it made by a symlink in the run directory. */
static bool emu_node(const char *devname, char *buf, size_t len)
{
	char link[512];
	ssize_t n;

	if (hv_emu_node_link(link, sizeof(link), hv_emu_dir(), devname))
		return false;
	n = readlink(link, buf, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return false;
	buf[n] = 0;
	return true;
}

/* A connection's books, empty, for control socket fd of device devname. */
static struct emu_conn *conn_new(const char *devname, int fd)
{
	struct emu_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->hv.ops = &hv_emu_guest_ops;
	c->sock = fd;
	c->doorbell_fd = -1;
	c->hv_fd = -1;
	c->hv_handle = XENIB_INVALID_HANDLE;
	list_init(&c->link);
	list_init(&c->regions);
	list_init(&c->notifies);
	/* What the provider's HELLO says too; TAKEOVER repeats it. */
	hv_emu_guest_name(c->guest, sizeof(c->guest));
	snprintf(c->dev, sizeof(c->dev), "%s", devname);
	return c;
}

static int emu_connect(const char *devname, struct hv_conn **out, int *sock)
{
	struct emu_conn *c;
	int fd;

	emu_init();
	fd = hv_emu_connect(devname);
	if (fd < 0)
		return -fd;
	c = conn_new(devname, fd);
	if (!c) {
		close(fd);
		return ENOMEM;
	}
	*out = &c->hv;
	*sock = fd;
	return 0;
}

/* emu.lock held (or c never listed): forget every book of c. */
static void drop_books(struct emu_conn *c)
{
	struct list_node *p, *t;

	list_for_each_safe(p, t, &c->regions) {
		struct emu_region *r = list_entry(p, struct emu_region, link);

		/* The hv_shm still points at it: shm_release() frees it. */
		list_del(&r->link);
		list_init(&r->link);
		r->conn = NULL;
	}
	list_for_each_safe(p, t, &c->notifies) {
		struct emu_notify *n = list_entry(p, struct emu_notify, link);

		list_del(&n->link);
		free(n);
	}
	c->doorbell = NULL;
}

void emu_conn_free(struct emu_conn *c)
{
	drop_books(c);
	if (c->doorbell_fd >= 0)
		close(c->doorbell_fd);
	if (c->hv_fd >= 0)
		close(c->hv_fd);
	free(c);
}

/* Is fd a connected unix SOCK_SEQPACKET socket (a control channel)? */
static bool is_channel(int fd)
{
	int type = 0, domain = 0;
	socklen_t l1 = sizeof(type), l2 = sizeof(domain);

	return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) &&
	       !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l2) &&
	       type == SOCK_SEQPACKET && domain == AF_UNIX;
}

/*
 * The new channel is a socketpair: xenibd gets one end through cmd_fd
 * (the request arriving on that context's channel shows we hold it).
 */
static int emu_attach(int cmd_fd, const void *req, size_t len,
		      struct hv_conn **out, int *sock)
{
	const struct xenib_attach_req *a = req;
	char dev[sizeof(a->dev_name)];
	struct emu_conn *c;
	int sv[2], err;

	if (len < sizeof(*a))
		return EINVAL;
	if (fcntl(cmd_fd, F_GETFD) < 0)
		return EBADF;
	if (!is_channel(cmd_fd))
		return EINVAL;
	emu_init();
	memcpy(dev, a->dev_name, sizeof(dev));
	dev[sizeof(dev) - 1] = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return errno;
	/* Books as any context has (move.c); xenibd moves no shared ones. */
	c = conn_new(dev, sv[0]);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return ENOMEM;
	}
	err = hv_msg_send(cmd_fd, req, len, sv[1]);
	close(sv[1]);	/* xenibd has its copy, or nobody */
	if (err) {
		close(sv[0]);
		free(c);
		return err;
	}
	*out = &c->hv;
	*sock = sv[0];
	return 0;
}

static void emu_disconnect(struct hv_conn *hc, int sock)
{
	struct emu_conn *c = hc ? to_emu(hc) : NULL;

	if (!c) {
		if (sock >= 0)
			close(sock);
		return;
	}
	pthread_mutex_lock(&emu.lock);
	if (c->listed) {
		list_del(&c->link);
		c->listed = false;
	}
	drop_books(c);
	/*
	 * Closed under the lock: a move never puts a new socket where this
	 * number was once the application may have reused it.
	 */
	if (sock >= 0)
		close(sock);
	c->sock = -1;
	if (c->mstate == EMU_MOVING) {
		c->gone = true;		/* the relay is moving it: it frees */
		pthread_cond_broadcast(&emu.cond);
	} else {
		emu_conn_free(c);
	}
	pthread_mutex_unlock(&emu.lock);
	emu_wake_relay();
}

static void emu_set_quiesce(struct hv_conn *c, void (*fn)(void *, bool),
			    void *arg)
{
	/*
	 * Nothing to quiesce.  A move re-shares the very pages (the same
	 * memfds, mapped by the new backend) instead of copying them, so a
	 * store the provider or the application makes into a ring or a
	 * registered buffer during the move lands where the new backend
	 * reads it: the source is frozen and no longer looks, the
	 * destination looks at the rings only after RESUME_DONE, from the
	 * indices in memory.  Notifier fds are swapped with dup3(), which
	 * is atomic for the threads using them (move.c).
	 */
}

static int emu_region_publish(struct hv_conn *hc, struct hv_shm *shm,
			      uint64_t *ref, int *pass_fd)
{
	struct emu_conn *c = to_emu(hc);
	struct emu_region *r;

	if (shm->priv)
		return EINVAL;		/* already announced */
	/*
	 * The backend maps the object itself: the fd that comes along, or,
	 * with none, the SysV segment whose id is ref (xenib-abi.h).
	 */
	if (shm->fd < 0 && shm->shmid < 0)
		return EBADF;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	list_init(&r->link);
	r->handle = XENIB_INVALID_HANDLE;
	r->npages = (uint32_t)(shm->len / XENIB_PAGE_SIZE);
	r->fd = shm->fd;
	r->shmid = shm->fd < 0 ? shm->shmid : -1;
	shm->priv = r;
	pthread_mutex_lock(&emu.lock);
	c->publishing++;
	pthread_mutex_unlock(&emu.lock);
	*pass_fd = shm->fd;
	*ref = r->shmid >= 0 ? (uint64_t)r->shmid : 0;
	return 0;
}

static void emu_region_done(struct hv_conn *hc, struct hv_shm *shm,
			    uint32_t handle)
{
	struct emu_conn *c = to_emu(hc);
	struct emu_region *r = shm->priv;
	bool first = false;

	pthread_mutex_lock(&emu.lock);
	c->publishing--;
	pthread_cond_broadcast(&emu.cond);
	if (r && handle != XENIB_INVALID_HANDLE) {
		r->handle = handle;
		r->conn = c;
		list_add_tail(&c->regions, &r->link);
		/* The first region of a context is its context page. */
		first = !c->hv_tried;
		c->hv_tried = true;
	} else if (r) {
		free(r);
		shm->priv = NULL;
	}
	pthread_mutex_unlock(&emu.lock);
	if (first)
		emu_hv_bind(c);
}

static void emu_shm_release(struct hv_shm *shm, int unmap)
{
	struct emu_region *r = shm->priv;

	if (r) {
		pthread_mutex_lock(&emu.lock);
		if (r->conn)
			list_del(&r->link);
		pthread_mutex_unlock(&emu.lock);
		free(r);
		shm->priv = NULL;
	}
	hv_shm_release(shm, unmap);
}

static int emu_notify_new(struct hv_conn *hc, uint32_t kind,
			  struct hv_notifier *n)
{
	struct emu_conn *c = to_emu(hc);
	int err;

	n->kind = kind;
	n->port = 0;
	err = hv_notify_pair(&n->guest_fd, &n->self_fd);
	if (err)
		return err;
	/* The backend gets its own copy of our self end. */
	n->pass_fd = n->self_fd;
	pthread_mutex_lock(&emu.lock);
	c->publishing++;
	pthread_mutex_unlock(&emu.lock);
	return 0;
}

/* emu.lock held: the books of a bound notifier (NULL: out of memory). */
static struct emu_notify *track_notify(struct emu_conn *c, uint32_t kind,
				       uint32_t handle, int guest_fd,
				       int self_fd)
{
	struct emu_notify *e = calloc(1, sizeof(*e));

	if (!e) {
		/* Moving it would leave the notifier behind: refuse then. */
		emu_err("out of memory: notifier %u cannot follow a move",
			handle);
		return NULL;
	}
	e->kind = kind;
	e->handle = handle;
	e->guest_fd = guest_fd;
	e->self_fd = self_fd;
	e->new_guest = e->new_back = -1;
	list_add_tail(&c->notifies, &e->link);
	return e;
}

static void emu_notify_bound(struct hv_conn *hc, struct hv_notifier *n,
			     uint32_t handle)
{
	struct emu_conn *c = to_emu(hc);

	pthread_mutex_lock(&emu.lock);
	c->publishing--;
	pthread_cond_broadcast(&emu.cond);
	n->pass_fd = -1;
	if (handle == XENIB_INVALID_HANDLE ||
	    n->kind == XENIB_NOTIFY_DOORBELL) {
		/* The backend holds its end; we only ever signal ours. */
		close(n->self_fd);
		n->self_fd = -1;
		if (handle == XENIB_INVALID_HANDLE) {
			close(n->guest_fd);
		} else {
			if (c->doorbell) {
				list_del(&c->doorbell->link);
				free(c->doorbell);
			}
			if (c->doorbell_fd >= 0)
				close(c->doorbell_fd);
			c->doorbell_fd = n->guest_fd;
			c->doorbell = track_notify(c, n->kind, handle,
						   c->doorbell_fd, -1);
			if (!c->doorbell)
				c->unmovable = true;
		}
		n->guest_fd = -1;
	} else if (!track_notify(c, n->kind, handle, n->guest_fd,
				 n->self_fd)) {
		c->unmovable = true;	/* a MOVE then fails the context */
	}
	pthread_mutex_unlock(&emu.lock);
}

static void emu_notify_forget(struct hv_conn *hc, uint32_t handle)
{
	struct emu_conn *c = to_emu(hc);
	struct list_node *p, *t;

	pthread_mutex_lock(&emu.lock);
	list_for_each_safe(p, t, &c->notifies) {
		struct emu_notify *e = list_entry(p, struct emu_notify, link);

		if (e->handle != handle)
			continue;
		/* The caller closes the fds after this: never touch them. */
		if (c->doorbell == e)
			c->doorbell = NULL;
		list_del(&e->link);
		free(e);
		break;
	}
	pthread_mutex_unlock(&emu.lock);
}

static void emu_kick(struct hv_conn *c)
{
	hv_notify_signal(to_emu(c)->doorbell_fd);
}

const struct hv_ops hv_emu_guest_ops = {
	.name = "emulated",
	.present = emu_present,
	.discover = emu_discover,
	.where = emu_where,
	.node = emu_node,
	.connect = emu_connect,
	.disconnect = emu_disconnect,
	.attach = emu_attach,
	.set_quiesce = emu_set_quiesce,
	.shm_alloc = hv_shm_alloc,
	.shm_adopt = hv_shm_adopt,
	.shm_release = emu_shm_release,
	.region_publish = emu_region_publish,
	.region_done = emu_region_done,
	.notify_new = emu_notify_new,
	.notify_bound = emu_notify_bound,
	.notify_forget = emu_notify_forget,
	.kick = emu_kick,
	.hangup = emu_hangup,
};
