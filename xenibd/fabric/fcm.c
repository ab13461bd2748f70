// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The connection manager between hosts (cm_hook.h's remote seam).
 *
 * Out: a guest's IB CM message for a port another host serves goes to
 * that host as one XF_CM message (proto.h), its private data the payload.
 * While the wire to the host is still coming up, at most FCM_WAIT_MAX
 * messages wait for it, FCM_WAIT_NS at most; anything else is lost, as a
 * MAD may be, and the IB CM's timeouts and retries recover.
 *
 * In: the header is checked (xf_check_cm), the sending host must serve
 * the source port (a host speaks only for its own guests), and the CM
 * checks the message as it checks a guest's (xd_cm_deliver).
 *
 * Addresses: an IP address of another host is the one its wire listens
 * on (its hosts/<id> addr), and it reaches a port that host serves (the
 * lowest LID the directory locates there, which may be a guest's that has
 * gone: that CM takes a REQ for any of its LIDs); the CM there finds the
 * listener, and its REP names the port that answered (cm_addr.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "xenibd/cm/cm_hook.h"
#include "xenibd/cm/cm_msg.h"
#include "xenibd/fabric/fint.h"

#define FCM_WAIT_MAX	256u
#define FCM_WAIT_NS	(1000ull * 1000 * 1000)

/* A message on its way: kept until the wire is done with its payload. */
struct fcm_out {
	struct list_node link;		/* waiting: fcm_waiting */
	uint32_t hid;
	uint64_t since_ns;
	struct xf_cm c;
	uint8_t pdata[XF_CM_MAX_PDATA];
};

static struct list_node fcm_waiting = LIST_INIT(fcm_waiting);
static unsigned int nwaiting;

static void encode(const struct cm_msg *m, struct fcm_out *o)
{
	struct xf_cm *c = &o->c;
	unsigned int n = cm_msg_pdata_len(m->type);

	memset(c, 0, sizeof(*c));
	c->h = (struct xf_hdr){ XF_MAGIC, XF_VERSION, XF_CM, sizeof(*c) };
	c->type = m->type;
	c->qp_type = m->qp_type;
	c->msg_ref = m->msg_ref;
	c->sidr_status = m->sidr_status;
	c->rej_reason = m->rej_reason;
	c->pkey = m->pkey;
	c->slid = m->slid;
	c->dlid = m->dlid;
	c->pdata_len = n;
	memcpy(c->sgid, m->sgid, 16);
	memcpy(c->dgid, m->dgid, 16);
	c->local_comm_id = m->local_comm_id;
	c->remote_comm_id = m->remote_comm_id;
	c->service_id = m->service_id;
	c->qpn = m->qpn;
	c->psn = m->psn;
	c->qkey = m->qkey;
	c->responder_resources = m->responder_resources;
	c->initiator_depth = m->initiator_depth;
	c->retry_count = m->retry_count;
	c->rnr_retry_count = m->rnr_retry_count;
	c->flow_control = m->flow_control;
	c->srq = m->srq;
	c->mtu = m->mtu;
	c->packet_life_time = m->packet_life_time;
	c->service_timeout = m->service_timeout;
	c->ece_vendor_id = m->ece_vendor_id;
	c->ece_options = m->ece_options;
	memcpy(o->pdata, m->pdata, n);
}

static void decode(const struct xf_cm *c, const void *pdata,
		   struct cm_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = c->type;
	m->qp_type = c->qp_type;
	m->msg_ref = c->msg_ref;
	m->sidr_status = c->sidr_status;
	m->rej_reason = c->rej_reason;
	m->pkey = c->pkey;
	m->slid = c->slid;
	m->dlid = c->dlid;
	memcpy(m->sgid, c->sgid, 16);
	memcpy(m->dgid, c->dgid, 16);
	m->local_comm_id = c->local_comm_id;
	m->remote_comm_id = c->remote_comm_id;
	m->service_id = c->service_id;
	m->qpn = c->qpn;
	m->psn = c->psn;
	m->qkey = c->qkey;
	m->responder_resources = c->responder_resources;
	m->initiator_depth = c->initiator_depth;
	m->retry_count = c->retry_count;
	m->rnr_retry_count = c->rnr_retry_count;
	m->flow_control = c->flow_control;
	m->srq = c->srq;
	m->mtu = c->mtu;
	m->packet_life_time = c->packet_life_time;
	m->service_timeout = c->service_timeout;
	m->ece_vendor_id = c->ece_vendor_id;
	m->ece_options = c->ece_options;
	memcpy(m->pdata, pdata, c->pdata_len);	/* <= XF_CM_MAX_PDATA */
}

static void sent(void *arg, int status)
{
	struct fcm_out *o = arg;

	xf_bounce_put(o->c.pdata_len);
	free(o);
}

/*
 * Hand o to the wire (which then owns it); 0 or errno (o is ours).  Its
 * private data counts in the fabric's payload bytes while the wire has it.
 */
static int put(struct xw_peer *peer, struct fcm_out *o)
{
	struct iovec iov = { .iov_base = o->pdata, .iov_len = o->c.pdata_len };
	int err;

	if (!xf_bounce_get(iov.iov_len))
		return ENOBUFS;
	err = xw_send(peer, &o->c, sizeof(o->c), &iov, iov.iov_len ? 1 : 0,
		      XW_SEND_EAGER, sent, o);
	if (err < 0)
		xf_bounce_put(iov.iov_len);
	return err < 0 ? -err : 0;
}

static int fcm_send(const struct cm_msg *m)
{
	struct xdir_route r;
	struct xf_host *h;
	struct xw_peer *peer;
	struct fcm_out *o;
	int err;

	if (!xf.dir || xdir_resolve_cached(xf.dir, m->dlid, &r))
		return EHOSTUNREACH;
	h = xf_host_by_name(r.host);
	if (!h || h->hid == xf.self_hid)
		return EHOSTUNREACH;
	o = malloc(sizeof(*o));
	if (!o)
		return ENOMEM;
	encode(m, o);
	peer = xf_host_peer(h);
	if (peer) {
		err = put(peer, o);
		if (err)
			free(o);
		return err;
	}
	if (!h->in_dir || nwaiting >= FCM_WAIT_MAX) {
		free(o);
		return h->in_dir ? ENOBUFS : EHOSTUNREACH;
	}
	o->hid = h->hid;
	o->since_ns = xd.now_ns;
	list_add_tail(&fcm_waiting, &o->link);
	nwaiting++;
	return 0;
}

void xf_cm_flush(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &fcm_waiting) {
		struct fcm_out *o = list_entry(pos, struct fcm_out, link);
		struct xf_host *h = xf_host_by_hid(o->hid);
		struct xw_peer *peer = NULL;

		if (h && xd.now_ns - o->since_ns < FCM_WAIT_NS) {
			peer = h->peer && xw_peer_is_up(h->peer) ? h->peer :
								    NULL;
			if (!peer) {		/* still coming up */
				if (next_ns && o->since_ns + FCM_WAIT_NS <
					       *next_ns)
					*next_ns = o->since_ns + FCM_WAIT_NS;
				continue;
			}
		}
		list_del(&o->link);
		nwaiting--;
		if (!peer || put(peer, o))
			free(o);
	}
}

void xf_cm_fini(void)
{
	while (!list_empty(&fcm_waiting)) {
		struct fcm_out *o = list_entry(fcm_waiting.next,
					       struct fcm_out, link);

		list_del(&o->link);
		free(o);
	}
	nwaiting = 0;
}

void xf_cm_recv(struct xf_host *h, const void *hdr, size_t hdr_len,
		struct xw_rx *rx)
{
	const struct xf_cm *c = hdr;
	size_t len = xw_rx_len(rx);
	const void *data = xw_rx_data(rx);
	struct cm_msg m;
	int err;

	err = xf_check_cm(hdr, hdr_len, len);
	if (!err && len && !data)
		err = EPROTO;	/* private data comes eagerly, or not at all */
	if (err) {
		xf.wire_errors++;
		xf_log_rl("host %s: malformed CM message dropped", h->id);
		xw_rx_drop(rx);
		return;
	}
	if (!xf_host_serves(h, c->slid)) {
		xf.wire_errors++;
		xf_log_rl("host %s: CM message from LID %u, which it does not serve, dropped",
			  h->id, c->slid);
		xw_rx_drop(rx);
		return;
	}
	decode(c, data, &m);
	xw_rx_drop(rx);
	err = xd_cm_deliver(&m);
	if (err == EINVAL) {
		xf.wire_errors++;
		xf_log_rl("host %s: CM message type %u the CM refuses dropped",
			  h->id, c->type);
	}
}

/* The IP address of a wire address "a.b.c.d:port" or "[v6]:port". */
static int addr_ip(const char *addr, int *family, uint8_t ip[16])
{
	char buf[XDIR_ADDR_MAX + 1];
	char *end;

	if (addr[0] == '[') {
		snprintf(buf, sizeof(buf), "%s", addr + 1);
		end = strchr(buf, ']');
		if (!end)
			return EINVAL;
		*end = 0;
		*family = AF_INET6;
		return inet_pton(AF_INET6, buf, ip) == 1 ? 0 : EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", addr);
	end = strrchr(buf, ':');
	if (end)
		*end = 0;
	*family = AF_INET;
	return inet_pton(AF_INET, buf, ip) == 1 ? 0 : EINVAL;
}

static bool host_has(const struct xf_host *h, const struct xenib_cm_addr *a)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t ip[16];
	int family;

	if (addr_ip(h->addr, &family, ip))
		return false;
	if (family == AF_INET && a->family == AF_INET)
		return !memcmp(ip, a->addr, 4);
	if (family == AF_INET && a->family == AF_INET6)
		return !memcmp(a->addr, v4mapped, 12) &&
		       !memcmp(ip, a->addr + 12, 4);
	return family == a->family && !memcmp(ip, a->addr, 16);
}

static int fcm_resolve(const struct xenib_cm_addr *dst, uint16_t *lid,
		       uint8_t gid[16])
{
	struct list_node *pos;

	if (!xf.dir)
		return ENOENT;
	list_for_each(pos, &xf.hosts) {
		struct xf_host *h = list_entry(pos, struct xf_host, link);

		if (h->hid == xf.self_hid || !h->in_dir || !host_has(h, dst))
			continue;
		if (xdir_host_lid(xf.dir, h->id, lid))
			return ENOENT;	/* up, but serving no guest */
		xdir_gid_of_guid(xdir_guid_of_lid(*lid), gid);
		return 0;
	}
	return ENOENT;
}

static bool fcm_same_host(uint16_t a, uint16_t b)
{
	struct xdir_route ra, rb;

	return xf.dir && !xdir_resolve_cached(xf.dir, a, &ra) &&
	       !xdir_resolve_cached(xf.dir, b, &rb) &&
	       !strcmp(ra.host, rb.host);
}

const struct xd_cm_remote_ops xf_cm_remote = {
	.send = fcm_send,
	.resolve = fcm_resolve,
	.same_host = fcm_same_host,
};
