// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The CM's peer seam.  A message goes to the port (LID) it is addressed to.
 * A guest of this backend gets it through a queue the main loop drains
 * (xd_cm_tick), so a handler never runs inside another and local delivery
 * behaves like the fabric's: asynchronous, in order per sender, and
 * possibly lost (a full inbox drops, as a full MAD queue would; the IB
 * CM's timeouts and retries recover).  Any other LID is another host's:
 * the fabric (cm.remote, xenibd/fabric/fcm.c) carries the message there,
 * and that host's CM takes it through xd_cm_deliver() into its own inbox,
 * checked as if a guest had sent it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/cm/cm.h"

#define CM_INBOX_MAX	65536u

struct cm_inmsg {
	struct list_node link;
	struct cm_msg m;
};

static int inbox_put(const struct cm_msg *m)
{
	struct cm_inmsg *in;

	if (cm.ninbox >= CM_INBOX_MAX)
		return ENOBUFS;
	in = malloc(sizeof(*in));
	if (!in)
		return ENOMEM;
	in->m = *m;
	list_add_tail(&cm.inbox, &in->link);
	cm.ninbox++;
	return 0;
}

static int local_send(const struct cm_msg *m)
{
	if (cm_dev_guest_by_lid(m->dlid))
		return inbox_put(m);
	if (cm.remote)
		return cm.remote->send(m);
	return EHOSTUNREACH;
}

const struct cm_peer_ops cm_local_peer = {
	.send = local_send,
};

bool cm_may_answer(const struct cm_id *id, uint16_t slid)
{
	if (!id->remote_dst)
		return cm_dev_guest_by_lid(slid) != NULL;
	return cm.remote && cm.remote->same_host(id->path.dlid, slid);
}

void xd_cm_set_remote(const struct xd_cm_remote_ops *ops)
{
	cm.remote = ops;
}

int xd_cm_deliver(const struct cm_msg *m)
{
	int err;

	/* No channel opened here yet: a REQ still gets its REJ. */
	err = cm_init();
	if (!err)
		err = cm_msg_check(m);
	/*
	 * A REQ or SIDR REQ is addressed to this host: its sender aimed at
	 * some port the directory locates here (cm_addr.c), perhaps of a
	 * guest gone since; the listener is found by service id and address
	 * whatever the port.  Anything else belongs to a port of a guest here.
	 */
	if (!err && m->type != CM_MSG_REQ && m->type != CM_MSG_SIDR_REQ &&
	    !cm_dev_guest_by_lid(m->dlid))
		err = EHOSTUNREACH;
	if (!err)
		err = inbox_put(m);
	if (err)
		cm.stats.msgs_dropped++;
	return err;
}

int cm_send_raw(struct cm_msg *m)
{
	int err = cm.peer->send(m);

	if (err)
		cm.stats.msgs_dropped++;
	else
		cm.stats.msgs_sent++;
	return err;
}

unsigned int cm_msg_pdata_len(uint8_t type)
{
	switch (type) {
	case CM_MSG_REQ:
		return XENIB_CM_REQ_PDATA;
	case CM_MSG_MRA:
		return 222;
	case CM_MSG_REJ:
		return XENIB_CM_REJ_PDATA;
	case CM_MSG_REP:
		return XENIB_CM_REP_PDATA;
	case CM_MSG_RTU:
		return 224;
	case CM_MSG_DREQ:
		return XENIB_CM_DREQ_PDATA;
	case CM_MSG_DREP:
		return XENIB_CM_DREP_PDATA;
	case CM_MSG_SIDR_REQ:
		return XENIB_CM_SIDR_REQ_PDATA;
	case CM_MSG_SIDR_REP:
		return XENIB_CM_SIDR_REP_PDATA;
	}
	return 0;
}

int cm_msg_check(const struct cm_msg *m)
{
	unsigned int n = cm_msg_pdata_len(m->type);
	unsigned int i;

	if (!n || n > sizeof(m->pdata))
		return EINVAL;
	/* Bytes past the field are not part of the message: must be zero. */
	for (i = n; i < sizeof(m->pdata); i++)
		if (m->pdata[i])
			return EINVAL;
	if (m->qpn > 0xffffff || m->psn > 0xffffff || !m->slid || !m->dlid)
		return EINVAL;
	if (m->mtu > IBV_MTU_4096 || m->packet_life_time > 31 ||
	    m->service_timeout > 31 || m->retry_count > 7 ||
	    m->rnr_retry_count > 7 ||
	    m->responder_resources > CM_MAX_RD_ATOMIC ||
	    m->initiator_depth > CM_MAX_RD_ATOMIC)
		return EINVAL;
	if (m->type == CM_MSG_REQ && m->qp_type != IBV_QPT_RC &&
	    m->qp_type != IBV_QPT_UC && m->qp_type != IBV_QPT_XRC_SEND)
		return EINVAL;
	return 0;
}

void cm_inbox_run(void)
{
	/* Only what was queued before: handlers queue answers for later. */
	unsigned int n = cm.ninbox;

	while (n-- && !list_empty(&cm.inbox)) {
		struct cm_inmsg *in = list_entry(cm.inbox.next,
						 struct cm_inmsg, link);

		list_del(&in->link);
		cm.ninbox--;
		if (cm_msg_check(&in->m)) {
			xd_dbg("cm: malformed message type %u dropped",
			       in->m.type);
			cm.stats.msgs_dropped++;
		} else if (in->m.type == CM_MSG_SIDR_REQ ||
			   in->m.type == CM_MSG_SIDR_REP) {
			cm_sidr_recv(&in->m);
		} else {
			cm_conn_recv(&in->m);
		}
		free(in);
	}
}

void cm_inbox_clear(void)
{
	while (!list_empty(&cm.inbox)) {
		struct cm_inmsg *in = list_entry(cm.inbox.next,
						 struct cm_inmsg, link);

		list_del(&in->link);
		free(in);
	}
	cm.ninbox = 0;
}
