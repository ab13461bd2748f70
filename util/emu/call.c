// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The emulation's own control requests (the HV binding, TAKEOVER and
 * RESUME_* of a move): one request, one answer, never waiting past a
 * deadline, so a backend that does not answer cannot hang the guest.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "util/emu/guest.h"

#define EMU_MAX_ERRNO 4095u

struct timespec emu_deadline(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

int emu_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > 3600000 ? 3600000 : (int)ms;
}

/* Wait for events on fd until the deadline: 0, or ETIMEDOUT / errno. */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		int ms = emu_ms_left(deadline);

		if (!ms)
			return ETIMEDOUT;
		r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return errno;
	}
}

int emu_call(int sock, uint32_t seq, uint16_t opcode, void *req, size_t len,
	     int pass_fd, void *resp, size_t resp_len,
	     const struct timespec *deadline)
{
	union {
		struct xenib_ctrl_hdr hdr;
		uint8_t bytes[XENIB_CTRL_MAX_MSG];
	} buf;
	struct xenib_ctrl_hdr *h = req;
	ssize_t n;
	int fd, err;

	if (len < sizeof(*h) || len > XENIB_CTRL_MAX_MSG ||
	    resp_len < sizeof(*h) || resp_len > XENIB_CTRL_MAX_MSG)
		return EINVAL;
	h->opcode = opcode;
	h->flags = 0;
	h->length = (uint32_t)len;
	h->seq = seq;
	h->status = 0;
	for (;;) {
		err = hv_msg_send(sock, req, len, pass_fd);
		if (err != EAGAIN)
			break;
		err = wait_fd(sock, POLLOUT, deadline);
		if (err)
			return err;
	}
	if (err)
		return err;
	for (;;) {
		err = wait_fd(sock, POLLIN, deadline);
		if (err)
			return err;
		n = hv_msg_recv(sock, buf.bytes, sizeof(buf.bytes), &fd);
		if (n != -EAGAIN)
			break;
	}
	if (fd >= 0)
		close(fd);	/* no answer carries a descriptor */
	if (n < 0)
		return (int)-n;
	if (n == 0)
		return ECONNRESET;
	if ((size_t)n < sizeof(buf.hdr) || buf.hdr.length != (size_t)n ||
	    buf.hdr.opcode != opcode || buf.hdr.seq != seq)
		return EPROTO;
	if (buf.hdr.status)
		return buf.hdr.status <= EMU_MAX_ERRNO ? (int)buf.hdr.status :
							EPROTO;
	if ((size_t)n != resp_len)
		return EPROTO;
	memcpy(resp, buf.bytes, resp_len);
	return 0;
}
