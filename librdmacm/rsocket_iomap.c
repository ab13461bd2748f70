// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, io mappings (rsocket(7)): riomap registers a buffer of ours
 * for the peer to write into and announces it (an IOMAP message: offset,
 * address, length, rkey, slot); riounmap withdraws it (IOUNMAP);
 * riowrite is an RDMA WRITE into a buffer the peer announced.
 *
 * Announcements wait for a credit like any control message and go out
 * before any later data (rs_flush_ctrl sends them first), so a peer that
 * sees our data after a riomap already knows the mapping.  The peer's
 * announcements are hostile input: the slot must be one it said it would
 * use (its hello's iomap_size), or the connection breaks.
 */
#include <endian.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <rdma/rsocket.h>

#include "rsocket.h"

static int send_iomap(struct rsock *rs, enum rs_msg type, uint32_t index)
{
	struct rs_lmap *m = &rs->lmaps[index];
	struct rs_iomap_msg msg;
	struct iovec iov = { &msg, sizeof(msg) };

	memset(&msg, 0, sizeof(msg));
	msg.offset = htole64(m->offset);
	msg.index = htole32(index);
	if (type == RS_MSG_IOMAP) {
		msg.addr = htole64((uintptr_t)m->buf);
		msg.len = htole64(m->len);
		msg.rkey = htole32(m->mr->rkey);
	}
	return rs_send_msg(rs, type, &iov, 1, 0, sizeof(msg), true);
}

int rs_iomap_flush(struct rsock *rs)
{
	uint32_t i;

	while (rs->iomap_pending && rs_ctl_ok(rs)) {
		for (i = 0; i < rs->nlmaps; i++) {
			struct rs_lmap *m = &rs->lmaps[i];

			if (m->used && m->unmap_pending) {
				if (send_iomap(rs, RS_MSG_IOUNMAP, i))
					return -1;
				memset(m, 0, sizeof(*m));
				break;
			}
			if (m->used && !m->announced && m->mr) {
				if (send_iomap(rs, RS_MSG_IOMAP, i))
					return -1;
				m->announced = true;
				break;
			}
		}
		if (i == rs->nlmaps)
			rs->iomap_pending = false;
	}
	return 0;
}

void rs_on_iomap(struct rsock *rs, uint32_t type, const char *p,
		 uint32_t len)
{
	struct rs_iomap_msg msg;
	uint32_t idx;

	if (len < sizeof(msg)) {
		rs_ctl_fail(rs, EPROTO);
		return;
	}
	memcpy(&msg, p, sizeof(msg));
	idx = le32toh(msg.index);
	if (idx >= rs->nrmaps) {
		rs_ctl_fail(rs, EPROTO);
		return;
	}
	if (type == RS_MSG_IOUNMAP) {
		memset(&rs->rmaps[idx], 0, sizeof(rs->rmaps[idx]));
		return;
	}
	rs->rmaps[idx].used = true;
	rs->rmaps[idx].offset = le64toh(msg.offset);
	rs->rmaps[idx].addr = le64toh(msg.addr);
	rs->rmaps[idx].len = le64toh(msg.len);
	rs->rmaps[idx].rkey = le32toh(msg.rkey);
}

EXPORT off_t riomap(int socket, void *buf, size_t len, int prot, int flags,
		    off_t offset)
{
	struct rsock *rs = rs_get(socket);
	struct rs_lmap *m = NULL;
	uint32_t i;
	int err = 0;

	if (!rs)
		return cma_err(EBADF);
	if (!buf || !len || prot != PROT_WRITE || flags)
		return cma_err(EINVAL);
	pthread_mutex_lock(&rs->mut);
	if (!rs->cq || (rs->state != RS_CONNECTED &&
			rs->state != RS_ACCEPTING)) {
		err = ENOTCONN;
		goto out;
	}
	for (i = 0; i < rs->nlmaps; i++)
		if (!rs->lmaps[i].used) {
			m = &rs->lmaps[i];
			break;
		}
	if (!m) {
		err = ENOMEM;
		goto out;
	}
	if (offset == -1)
		offset = (off_t)(uintptr_t)buf;
	m->mr = ibv_reg_mr(rs->id->qp->pd, buf, len,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!m->mr) {
		err = errno ? errno : ENOMEM;
		goto out;
	}
	m->used = true;
	m->announced = false;
	m->unmap_pending = false;
	m->buf = buf;
	m->len = len;
	m->offset = (uint64_t)offset;
	rs->iomap_pending = true;
	rs_flush_ctrl(rs);
out:
	pthread_mutex_unlock(&rs->mut);
	return err ? cma_err(err) : offset;
}

EXPORT int riounmap(int socket, void *buf, size_t len)
{
	struct rsock *rs = rs_get(socket);
	uint32_t i;
	int err = EINVAL;

	if (!rs)
		return cma_err(EBADF);
	pthread_mutex_lock(&rs->mut);
	for (i = 0; i < rs->nlmaps; i++) {
		struct rs_lmap *m = &rs->lmaps[i];

		if (!m->used || m->unmap_pending || m->buf != buf ||
		    m->len != len)
			continue;
		if (m->mr)
			ibv_dereg_mr(m->mr);
		m->mr = NULL;
		if (m->announced) {
			m->unmap_pending = true;
			rs->iomap_pending = true;
			rs_flush_ctrl(rs);
		} else {
			memset(m, 0, sizeof(*m));
		}
		err = 0;
		break;
	}
	pthread_mutex_unlock(&rs->mut);
	return err ? cma_err(err) : 0;
}

static const struct rs_rmap *find_rmap(const struct rsock *rs, uint64_t off)
{
	uint32_t i;

	for (i = 0; i < rs->nrmaps; i++) {
		const struct rs_rmap *m = &rs->rmaps[i];

		if (m->used && off >= m->offset && off - m->offset < m->len)
			return m;
	}
	return NULL;
}

EXPORT size_t riowrite(int socket, const void *buf, size_t count,
		       off_t offset, int flags)
{
	struct rsock *rs = rs_get(socket);
	struct iovec iov = { (void *)buf, count };
	size_t sent = 0;
	int err;

	if (!rs) {
		errno = EBADF;
		return (size_t)-1;
	}
	if (offset < 0 || count > SSIZE_MAX) {
		errno = EINVAL;
		return (size_t)-1;
	}
	pthread_mutex_lock(&rs->mut);
	err = rs_ready(rs, flags);
	while (!err && sent < count) {
		uint64_t off = (uint64_t)offset + sent;
		const struct rs_rmap *m;
		uint64_t chunk;

		err = rs_send_err(rs);
		if (err)
			break;
		m = find_rmap(rs, off);
		if (!m) {
			err = EINVAL;
			break;
		}
		chunk = count - sent;
		if (chunk > m->offset + m->len - off)
			chunk = m->offset + m->len - off;
		if (chunk > rs->sbufsz)
			chunk = rs->sbufsz;
		/* The last byte goes alone, after the rest: a peer that
		 * watches it (riostream does) then finds all before it. */
		if (sent + chunk == count && chunk > 1)
			chunk--;
		if (!rs_wr_room(rs, (uint32_t)chunk)) {
			rs_progress(rs);
			if (rs_wr_room(rs, (uint32_t)chunk))
				continue;
			if (rs_nonblock(rs, flags))
				break;
			rs_wait(rs, -1);
			continue;
		}
		err = rs_post(rs, IBV_WR_RDMA_WRITE, 0, &iov, 1, sent,
			      (uint32_t)chunk, false,
			      m->addr + (off - m->offset), m->rkey);
		if (!err)
			sent += chunk;
	}
	pthread_mutex_unlock(&rs->mut);
	if (sent || !count)
		return sent;
	errno = err ? err : EAGAIN;
	return (size_t)-1;
}
