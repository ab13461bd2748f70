// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Event channels and the control channel under each: a connection to the
 * xenib device's xenibd (util/hv.h emulation: the device's unix socket),
 * HELLO with the same guest identity the verbs provider uses, then
 * XENIB_CM_OPEN with the backend end of a notifier pair.  The application
 * sees the guest end as rdma_event_channel.fd: readable while events wait
 * in the backend (event.c keeps it so), O_NONBLOCK its own choice.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "util/hv.h"
#include "cma.h"

int cma_debug;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;
static char devname[IBV_SYSFS_NAME_MAX];

#define CMA_MAX_ERRNO 4095u

static void do_init(void)
{
	const char *d = getenv("XENIB_DEBUG");

	cma_debug = d && *d && strcmp(d, "0");
	init_err = cma_devices_init();
}

int cma_init(void)
{
	pthread_once(&init_once, do_init);
	return init_err ? cma_err(init_err) : 0;
}

/* The CM lives in the xenibd of the first xenib device (device.c sets it). */
const char *cma_devname(void)
{
	return devname;
}

void cma_set_devname(const char *name);
void cma_set_devname(const char *name)
{
	snprintf(devname, sizeof(devname), "%s", name);
}

struct cma_channel *cma_chan(struct rdma_event_channel *ch)
{
	return container_of(ch, struct cma_channel, ch);
}

static int exchange(struct cma_channel *c, uint16_t op, void *req,
		    size_t req_len, int pass_fd, void *resp, size_t resp_len)
{
	union {
		struct xenib_ctrl_hdr hdr;
		uint8_t bytes[XENIB_CTRL_MAX_MSG];
	} buf;
	struct xenib_ctrl_hdr *h = req;
	uint32_t seq = ++c->seq;
	ssize_t n;
	int fd, err;

	h->opcode = op;
	h->flags = 0;
	h->length = req_len;
	h->seq = seq;
	h->status = 0;
	err = hv_msg_send(c->sock, req, req_len, pass_fd);
	if (err)
		return err == EPIPE ? ECONNRESET : err;
	n = hv_msg_recv(c->sock, buf.bytes, sizeof(buf.bytes), &fd);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return (int)-n;
	if (n == 0)
		return ECONNRESET;
	if ((size_t)n < sizeof(buf.hdr) || buf.hdr.length != (size_t)n ||
	    buf.hdr.opcode != op || buf.hdr.seq != seq)
		return EPROTO;
	if (buf.hdr.status)
		return buf.hdr.status <= CMA_MAX_ERRNO ? (int)buf.hdr.status :
							 EPROTO;
	if ((size_t)n != resp_len)
		return EPROTO;
	memcpy(resp, buf.bytes, resp_len);
	return 0;
}

static int chan_cmd(struct cma_channel *c, uint16_t op, void *req,
		    size_t req_len, int pass_fd, void *resp, size_t resp_len)
{
	int err;

	pthread_mutex_lock(&c->lock);
	if (c->dead) {
		pthread_mutex_unlock(&c->lock);
		return EIO;
	}
	err = exchange(c, op, req, req_len, pass_fd, resp, resp_len);
	switch (err) {
	case EPROTO:
	case ECONNRESET:
	case ENOTCONN:
	case EMSGSIZE:
		/* Out of step or gone: no later answer can be trusted. */
		c->dead = true;
		fprintf(stderr, "librdmacm: lost the connection manager "
			"(xenibd of %s): %s\n", devname, strerror(err));
		err = EIO;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

int cma_cmd(struct rdma_event_channel *ch, uint16_t op, void *req,
	    size_t req_len, void *resp, size_t resp_len)
{
	return chan_cmd(cma_chan(ch), op, req, req_len, -1, resp, resp_len);
}

int cma_id_cmd(struct rdma_cm_id *id, uint16_t op)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_id_req req;
	struct xenib_ctrl_hdr resp;

	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	return cma_cmd(id->channel, op, &req, sizeof(req), &resp,
		       sizeof(resp));
}

static int hello(struct cma_channel *c)
{
	struct xenib_hello_req req;
	struct xenib_hello_resp resp;
	const char *name = getenv("XENIB_EMU_GUEST");
	int err;

	memset(&req, 0, sizeof(req));
	req.abi_version = XENIB_ABI_VERSION;
	req.flags = XENIB_HELLO_CM_CHANNEL;	/* limit.cm_channels, not contexts */
	/* The provider's identity rule: QPNs must be the same guest's. */
	if (name && *name)
		snprintf(req.guest_name, sizeof(req.guest_name), "%s", name);
	else
		snprintf(req.guest_name, sizeof(req.guest_name), "pid%d",
			 (int)getpid());
	err = exchange(c, XENIB_CMD_HELLO, &req, sizeof(req), -1, &resp,
		       sizeof(resp));
	if (!err && resp.abi_version != XENIB_ABI_VERSION)
		err = EPROTONOSUPPORT;
	return err;
}

static int open_channel(struct cma_channel *c)
{
	struct xenib_cm_open_req req;
	struct xenib_cm_open_resp resp;
	int gfd, bfd, err;

	c->sock = hv_emu_connect(devname);
	if (c->sock < 0) {
		err = -c->sock;
		cma_dbg("cannot reach xenibd of %s: %s", devname,
			strerror(err));
		return err == ENOENT || err == ECONNREFUSED ? ENODEV : err;
	}
	err = hello(c);
	if (err)
		return err;
	err = hv_notify_pair(&gfd, &bfd);
	if (err)
		return err;
	memset(&req, 0, sizeof(req));
	req.abi_version = XENIB_CM_ABI_VERSION;
	err = exchange(c, XENIB_CM_OPEN, &req, sizeof(req), bfd, &resp,
		       sizeof(resp));
	if (!err && resp.abi_version != XENIB_CM_ABI_VERSION)
		err = EPROTONOSUPPORT;
	if (err) {
		if (err == EINVAL || err == EPROTONOSUPPORT)
			fprintf(stderr, "librdmacm: xenibd of %s has no "
				"connection manager of ABI %u\n", devname,
				XENIB_CM_ABI_VERSION);
		close(gfd);
		close(bfd);
		return err;
	}
	c->ch.fd = gfd;
	c->self_fd = bfd;
	return 0;
}

EXPORT struct rdma_event_channel *rdma_create_event_channel(void)
{
	struct cma_channel *c;
	int err;

	if (cma_init())
		return NULL;
	if (hv_guest_wants_xen()) {
		fprintf(stderr, "librdmacm: event channels over real Xen are "
			"not supported yet (xenib rdma_cm runs on the emulated "
			"hypervisor only)\n");
		errno = EOPNOTSUPP;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->sock = c->self_fd = c->ch.fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	err = open_channel(c);
	if (err) {
		if (c->sock >= 0)
			close(c->sock);
		pthread_mutex_destroy(&c->lock);
		free(c);
		errno = err;
		return NULL;
	}
	return &c->ch;
}

EXPORT void rdma_destroy_event_channel(struct rdma_event_channel *channel)
{
	struct cma_channel *c;

	if (!channel)
		return;
	c = cma_chan(channel);
	atomic_store(&c->destroyed, true);
	if (atomic_load(&c->waiters)) {
		/*
		 * A thread blocks in rdma_get_cm_event() on it (rping's CM
		 * thread does when main ends): with the kernel's rdma_cm it
		 * would stay blocked in read(2), so here it parks (event.c)
		 * and the channel stays allocated.  The backend forgets the
		 * channel and its ids now; the fds stay open so that their
		 * numbers are not reused under the waiter.
		 */
		shutdown(c->sock, SHUT_RDWR);
		hv_notify_signal(c->self_fd);	/* wake it to park */
		return;
	}
	/* Closing the control channel destroys whatever ids are left. */
	close(c->sock);
	close(c->ch.fd);
	close(c->self_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
