// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guests that use up xenibd's file descriptors (emulation): every context
 * is a socket of xenibd's, every region keeps the guest's memfd open and
 * every notifier its socket.  test_fd_flood.sh runs the modes against
 * xenibd with small limits:
 *
 *   fd_flood contexts NAME      contexts of one guest until refused
 *   fd_flood regions NAME       one-page regions of one context until refused
 *   fd_flood hold N STOP_FILE   contexts of N guests until refused, then
 *                               connections that never say HELLO; holds them
 *                               until STOP_FILE exists (at most 120 s)
 *   fd_flood victim             an honest guest: open, share, register
 *
 * Each mode prints one "result" line; the exit status is 0 if the mode's
 * requests behaved as its line says (see the script for the expectations).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/wire_guest.h"

#define MAXCTX 4096

/*
 * As wg_open, but the status of the first refused step: 0 if the context
 * is open, an errno if a request was refused, -1 if the channel broke.
 */
static int open_ctx(struct wg *g, const char *name)
{
	struct xenib_hello_req h = { .hdr.opcode = XENIB_CMD_HELLO,
				     .abi_version = XENIB_ABI_VERSION };
	struct xenib_hello_resp hr;
	struct xenib_map_region_req m = { .hdr.opcode = XENIB_CMD_MAP_REGION,
					  .npages = 1,
					  .flags = XENIB_REGION_CTX_PAGE };
	struct xenib_handle_resp resp;
	int st;

	memset(g, 0, sizeof(*g));
	g->db_guest = g->async_guest = -1;
	g->page.fd = -1;
	g->sock = hv_emu_connect("xenib0");
	if (g->sock < 0)
		return -1;
	strncpy(h.guest_name, name, sizeof(h.guest_name) - 1);
	st = wg_cmd(g, &h, sizeof(h), -1, &hr, sizeof(hr));
	if (st)
		return st;
	if (hv_shm_alloc(&g->page, XENIB_PAGE_SIZE, "xenib-flood"))
		return -1;
	st = wg_cmd(g, &m, sizeof(m), g->page.fd, &resp, sizeof(resp));
	if (st)
		return st;
	g->db = wg_bind(g, XENIB_NOTIFY_DOORBELL, &g->db_guest);
	g->async = wg_bind(g, XENIB_NOTIFY_ASYNC, &g->async_guest);
	return g->db == XENIB_INVALID_HANDLE ||
	       g->async == XENIB_INVALID_HANDLE ? EIO : 0;
}

static const char *st_str(int st)
{
	return st < 0 ? "channel closed" : st ? strerror(st) : "ok";
}

static struct wg ctxs[MAXCTX];

static int contexts(const char *name)
{
	unsigned int n;
	int st = 0;

	for (n = 0; n < MAXCTX; n++) {
		st = open_ctx(&ctxs[n], name);
		if (st)
			break;
	}
	printf("result: %u contexts of guest %s, then %s\n", n, name,
	       st_str(st));
	return st == EDQUOT ? 0 : 1;
}

static int regions(const char *name)
{
	struct hv_shm mem;
	unsigned int n;
	int st;

	st = open_ctx(&ctxs[0], name);
	if (st || hv_shm_alloc(&mem, XENIB_PAGE_SIZE, "xenib-flood")) {
		printf("result: cannot open (%s)\n", st_str(st));
		return 1;
	}
	for (n = 0; n < 100000; n++) {
		struct xenib_map_region_req m = {
			.hdr.opcode = XENIB_CMD_MAP_REGION, .npages = 1,
		};

		st = wg_cmd(&ctxs[0], &m, sizeof(m), mem.fd, NULL, 0);
		if (st)
			break;
	}
	printf("result: %u more regions (one fd each), then %s\n", n,
	       st_str(st));
	return st == EDQUOT ? 0 : 1;
}

static int hold(unsigned int max, const char *stop)
{
	unsigned int n, raw = 0, i;
	char name[32];
	int st = 0, fds[16];

	for (n = 0; n < max && n < MAXCTX; n++) {
		snprintf(name, sizeof(name), "hold-%u", n);
		st = open_ctx(&ctxs[n], name);
		if (st)
			break;
	}
	/* Connections that never say HELLO, waiting in xenibd's backlog. */
	for (i = 0; i < 16; i++) {
		fds[i] = hv_emu_connect("xenib0");
		raw += fds[i] >= 0;
	}
	printf("result: %u guests' contexts open, then %s; %u more "
	       "connections without HELLO\n", n, st_str(st), raw);
	fflush(stdout);
	for (i = 0; i < 1200 && access(stop, F_OK); i++)
		usleep(100 * 1000);
	return 0;
}

static int victim(void)
{
	struct wg v;
	struct hv_shm mem;
	uint32_t region;

	if (wg_open(&v, "fd-victim") ||
	    hv_shm_alloc(&mem, XENIB_PAGE_SIZE, "xenib-victim")) {
		printf("result: victim cannot open a context\n");
		return 1;
	}
	region = wg_map_region(&v, &mem, 0);
	printf("result: victim open, MAP_REGION %s\n",
	       region == XENIB_INVALID_HANDLE ? "failed" : "ok");
	return region == XENIB_INVALID_HANDLE;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "contexts"))
		return contexts(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "regions"))
		return regions(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "hold"))
		return hold(strtoul(argv[2], NULL, 0), argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "victim"))
		return victim();
	fprintf(stderr, "usage: fd_flood contexts|regions NAME | "
		"hold N STOP_FILE | victim\n");
	return 2;
}
