// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_handshake: the context setup sequence (HELLO, MAP_REGION of the
 * context page, BIND_NOTIFY of doorbell/async/completion notifiers, their
 * release) with fuzzed fields, fds and order, over several contexts and
 * guests that come and go; the guest also scribbles on pages it shared
 * while the backend posts async events to its context page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/hv.h"
#include "fuzz/fuzz_common.h"

#define NCTX 3
#define NHANDLES 16

static const char *const names[] = { "hs-a", "hs-b", "hs-c", "hs-d", "hs-e" };

struct hs_ctx {
	struct fz_ctx c;
	uint32_t handles[NHANDLES];	/* what the backend answered */
	unsigned int nh;
	void *map;			/* guest view of the last memfd */
	size_t map_len;
};

static struct hs_ctx ctxs[NCTX];

/* Send one request and keep the handle of a successful answer. */
static void request(struct hs_ctx *h, void *msg, size_t len, int fd)
{
	struct xenib_ctrl_hdr *hdr = msg;
	struct xenib_handle_resp resp;
	char buf[XENIB_CTRL_MAX_MSG];
	void *copy = malloc(len);
	ssize_t n;
	int rfd;

	hdr->length = len;
	memcpy(copy, msg, len);
	xd_ctrl_handle(h->c.ctx, copy, len, fd);
	free(copy);
	n = hv_msg_recv(h->c.guest_sock, buf, sizeof(buf), &rfd);
	if (rfd >= 0)
		close(rfd);
	if (n == sizeof(resp)) {
		memcpy(&resp, buf, sizeof(resp));
		if (!resp.hdr.status)
			h->handles[h->nh++ % NHANDLES] = resp.handle;
	}
	fz_ctx_drain(&h->c);
}

static uint32_t pick_handle(struct fz_in *in, struct hs_ctx *h)
{
	uint8_t k = fz_u8(in);

	if (k & 0x80)
		return fz_u32(in);
	if (k & 0x40)	/* another context's handle */
		h = &ctxs[(k >> 4) % NCTX];
	return h->handles[k % NHANDLES];
}

static void unmap_guest(struct hs_ctx *h)
{
	if (h->map)
		munmap(h->map, h->map_len);
	h->map = NULL;
}

static int pick_fd(struct fz_in *in, struct hs_ctx *h)
{
	uint8_t kind = fz_u8(in);
	uint8_t npages = fz_u8(in) & 0x1f;
	int fd = fz_fd(kind, npages);

	if ((kind & 3) == 1 && fd >= 0 && npages) {
		unmap_guest(h);
		h->map = mmap(NULL, npages * XENIB_PAGE_SIZE,
			      PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (h->map == MAP_FAILED)
			h->map = NULL;
		h->map_len = npages * XENIB_PAGE_SIZE;
	}
	return fd;
}

static void hs_open(struct hs_ctx *h)
{
	memset(h, 0, sizeof(*h));
	fz_ctx_open(&h->c);
}

static void hs_close(struct hs_ctx *h)
{
	fz_ctx_close(&h->c);
	unmap_guest(h);
}

static void step(struct fz_in *in)
{
	uint8_t op = fz_u8(in);
	struct hs_ctx *h = &ctxs[(op >> 4) % NCTX];
	union {
		struct xenib_hello_req hello;
		struct xenib_map_region_req map;
		struct xenib_bind_notify_req bind;
		struct xenib_handle_req handle;
		struct xenib_alloc_pd_req pd;
	} m;
	uint8_t k;

	memset(&m, 0, sizeof(m));
	m.hello.hdr.seq = op;
	switch (op & 0xf) {
	case 0:
		m.hello.hdr.opcode = XENIB_CMD_HELLO;
		k = fz_u8(in);
		m.hello.abi_version = k & 0x80 ? fz_u32(in) : XENIB_ABI_VERSION;
		if (k & 0x40)
			fz_bytes(in, m.hello.guest_name,
				 sizeof(m.hello.guest_name));
		else
			strcpy(m.hello.guest_name, names[k % 5]);
		request(h, &m, sizeof(m.hello), -1);
		break;
	case 1:
	case 2:
		m.map.hdr.opcode = XENIB_CMD_MAP_REGION;
		k = fz_u8(in);
		m.map.npages = k & 0x80 ? fz_u32(in) : k & 0x1f;
		m.map.flags = k & 0x40 ? fz_u32(in) : (k >> 5) & 1;
		m.map.offset = fz_u8(in) & 0x80 ? fz_u64(in) :
			       (uint64_t)(fz_u8(in) & 3) * XENIB_PAGE_SIZE;
		request(h, &m, sizeof(m.map), pick_fd(in, h));
		break;
	case 3:
	case 4:
		m.bind.hdr.opcode = XENIB_CMD_BIND_NOTIFY;
		k = fz_u8(in);
		m.bind.kind = k & 0x80 ? fz_u32(in) : k & 3;
		m.bind.port = fz_u32(in);
		request(h, &m, sizeof(m.bind), pick_fd(in, h));
		break;
	case 5:
	case 6:
		m.handle.hdr.opcode = op & 1 ? XENIB_CMD_UNMAP_REGION :
					       XENIB_CMD_UNBIND_NOTIFY;
		m.handle.handle = pick_handle(in, h);
		request(h, &m, sizeof(m.handle), -1);
		break;
	case 7:	/* what a guest does right after the handshake */
		k = fz_u8(in) % 3;
		m.handle.hdr.opcode = k == 0 ? XENIB_CMD_QUERY_DEVICE :
				      k == 1 ? XENIB_CMD_QUERY_PORT :
					       XENIB_CMD_ALLOC_PD;
		m.handle.handle = 1;
		request(h, &m, k == 1 ? sizeof(m.handle) :
			sizeof(struct xenib_ctrl_hdr), -1);
		break;
	case 8:	/* the guest goes away; another one may come */
		hs_close(h);
		hs_open(h);
		break;
	case 9:	/* the guest scribbles on shared memory, then an event */
		if (h->map)
			((uint32_t *)h->map)[fz_u16(in) % (h->map_len / 4)] =
				fz_u32(in);
		xd_ctx_post_async(h->c.ctx, fz_u8(in), fz_u32(in));
		break;
	default:	/* an arbitrary opcode with the handle layout */
		m.handle.hdr.opcode = fz_u8(in);
		m.handle.handle = pick_handle(in, h);
		request(h, &m, sizeof(m.handle), pick_fd(in, h));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	int i;

	fz_init();
	fz_reset();
	for (i = 0; i < NCTX; i++)
		hs_open(&ctxs[i]);
	while (in.left)
		step(&in);
	for (i = 0; i < NCTX; i++)
		hs_close(&ctxs[i]);
	fz_check_empty();
	return 0;
}
