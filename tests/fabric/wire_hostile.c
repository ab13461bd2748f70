// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A hostile host: speaks raw UCP to a wire_test server and breaks the
 * wire's protocol in every way the wire must survive, one endpoint per
 * attempt.  The server must close each of those endpoints (this program
 * sees its endpoint fail) and deliver nothing; test_wire.sh checks the
 * server's counters and peer events afterwards.
 *
 * Usage: wire_hostile ID IFACE SERVER_ID SERVER_ADDR EPOCH MAX_PENDING
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "xenibd/fabric/wire_int.h"

#define MAX_EPS		128
#define CLOSE_MS	8000
#define HUGE_LEN	(3ull << 30)

struct hep {
	ucp_ep_h ep;
	int failed;
	int got_hello;
	ucs_status_t status;
};

static ucp_context_h ucp;
static ucp_worker_h worker;
static struct hep eps[MAX_EPS];
static int neps, fails;
static uint32_t my_id, srv_id;
static uint64_t my_epoch;
static struct sockaddr_storage srv;
static socklen_t srv_len;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void progress_for(unsigned int ms)
{
	uint64_t dl = now_ms() + ms;

	while (now_ms() < dl) {
		if (!ucp_worker_progress(worker)) {
			struct timespec t = { 0, 1000000 };

			nanosleep(&t, NULL);
		}
	}
}

static void err_cb(void *arg, ucp_ep_h ep, ucs_status_t status)
{
	struct hep *h = arg;

	h->failed = 1;
	h->status = status;
}

static ucs_status_t hello_cb(void *arg, const void *hdr, size_t hdr_len,
			     void *data, size_t len,
			     const ucp_am_recv_param_t *param)
{
	int i;

	for (i = 0; i < neps; i++)
		if ((param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) &&
		    eps[i].ep == param->reply_ep)
			eps[i].got_hello = 1;
	return UCS_OK;
}

static ucs_status_t ignore_cb(void *arg, const void *hdr, size_t hdr_len,
			      void *data, size_t len,
			      const ucp_am_recv_param_t *param)
{
	return UCS_OK;
}

static struct hep *new_ep(void)
{
	struct hep *h = &eps[neps];
	ucp_ep_params_t p = {
		.field_mask = UCP_EP_PARAM_FIELD_FLAGS |
			      UCP_EP_PARAM_FIELD_SOCK_ADDR |
			      UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
			      UCP_EP_PARAM_FIELD_ERR_HANDLER,
		.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER,
		.sockaddr = { (struct sockaddr *)&srv, srv_len },
		.err_mode = UCP_ERR_HANDLING_MODE_PEER,
		.err_handler = { err_cb, h },
	};

	if (neps >= MAX_EPS || ucp_ep_create(worker, &p, &h->ep) != UCS_OK) {
		fprintf(stderr, "wire_hostile: ucp_ep_create failed\n");
		exit(1);
	}
	neps++;
	return h;
}

static void send_am(struct hep *h, unsigned int id, const void *hdr,
		    size_t hdr_len, const void *buf, size_t len,
		    unsigned int flags)
{
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
		.flags = flags,
	};
	ucs_status_ptr_t sp;

	sp = ucp_am_send_nbx(h->ep, id, hdr, hdr_len, buf, len, &p);
	if (UCS_PTR_IS_PTR(sp))
		ucp_request_free(sp);	/* completes on its own */
}

static struct xw_hello hello(uint32_t from, uint32_t to, uint64_t epoch)
{
	struct xw_hello h = {
		.magic = htole32(XW_HELLO_MAGIC),
		.version = htole16(XW_HELLO_VERSION),
		.from = htole32(from),
		.to = htole32(to),
		.epoch = htole64(epoch),
	};

	return h;
}

static void expect_closed(struct hep *h, const char *what)
{
	uint64_t dl = now_ms() + CLOSE_MS;

	while (!h->failed && now_ms() < dl)
		progress_for(5);
	if (h->failed) {
		printf("PASS: hostile %s: the server closed the endpoint "
		       "(%s)\n", what, ucs_status_string(h->status));
	} else {
		printf("FAIL: hostile %s: endpoint still open after %u ms\n",
		       what, CLOSE_MS);
		fails++;
	}
	fflush(stdout);
}

static int wait_hello(struct hep *h)
{
	uint64_t dl = now_ms() + CLOSE_MS;

	while (!h->got_hello && !h->failed && now_ms() < dl)
		progress_for(5);
	return h->got_hello;
}

static void attacks(unsigned int max_pending)
{
	const unsigned int R = UCP_AM_SEND_FLAG_REPLY;
	static uint8_t junk[64 << 10];
	struct xw_hello hv;
	struct xw_ping pg = { .magic = htole32(XW_PING_MAGIC) };
	uint8_t big[XW_HDR_MAX + 1];
	struct hep *h;
	uint64_t dl;
	void *huge;
	int i, n0, closed;

	memset(junk, 0xa5, sizeof(junk));
	memset(big, 0x5a, sizeof(big));

	h = new_ep();
	send_am(h, XW_AM_DATA, big, 48, NULL, 0, R);
	expect_closed(h, "data before HELLO");

	h = new_ep();
	send_am(h, XW_AM_HELLO, big, 8, NULL, 0, R);
	expect_closed(h, "8-byte HELLO");

	h = new_ep();
	hv = hello(my_id, srv_id, my_epoch);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), junk, 100, R);
	expect_closed(h, "HELLO with a payload");

	h = new_ep();
	hv = hello(my_id, srv_id, my_epoch);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), junk, sizeof(junk),
		R | UCP_AM_SEND_FLAG_RNDV);
	expect_closed(h, "rendezvous HELLO");

	h = new_ep();
	hv = hello(my_id, srv_id, my_epoch);
	hv.magic = htole32(0xdeadbeef);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	expect_closed(h, "HELLO with a bad magic");

	h = new_ep();
	hv = hello(my_id, srv_id + 1, my_epoch);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	expect_closed(h, "HELLO to another host id");

	h = new_ep();
	hv = hello(srv_id, srv_id, my_epoch);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	expect_closed(h, "HELLO claiming the server's own id");

	h = new_ep();
	hv = hello(my_id, srv_id, 0);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	expect_closed(h, "HELLO with epoch 0");

	h = new_ep();
	send_am(h, XW_AM_PING, &pg, sizeof(pg), NULL, 0, R);
	expect_closed(h, "PING before HELLO");

	h = new_ep();
	hv = hello(my_id, srv_id, my_epoch);
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	if (!wait_hello(h)) {
		printf("FAIL: hostile: the server never answered a valid "
		       "HELLO\n");
		fails++;
	}
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	expect_closed(h, "second HELLO");

	/* Authenticated, then a message UCX cannot attribute (no reply
	 * endpoint): dropped; then a header over XW_HDR_MAX: closed. */
	h = new_ep();
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	wait_hello(h);
	send_am(h, XW_AM_DATA, big, 48, junk, 100, 0);
	progress_for(200);
	if (h->failed) {
		printf("FAIL: hostile: unattributed message closed an "
		       "endpoint\n");
		fails++;
	}
	send_am(h, XW_AM_DATA, big, sizeof(big), NULL, 0, R);
	expect_closed(h, "header of XW_HDR_MAX + 1 bytes");

	/* Authenticated, then a rendezvous claiming 3 GiB (over
	 * XW_PAYLOAD_MAX): closed before a byte is fetched (the buffer is
	 * reserved address space, never touched). */
	h = new_ep();
	send_am(h, XW_AM_HELLO, &hv, sizeof(hv), NULL, 0, R);
	wait_hello(h);
	huge = mmap(NULL, HUGE_LEN, PROT_READ,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (huge != MAP_FAILED) {
		send_am(h, XW_AM_DATA, big, 48, huge, HUGE_LEN,
			R | UCP_AM_SEND_FLAG_RNDV);
		expect_closed(h, "rendezvous of 3 GiB");
	}

	/* A flood of endpoints that never say HELLO: beyond max_pending they
	 * are refused at once, the others time out. */
	n0 = neps;
	for (i = 0; i < (int)max_pending + 4 && neps < MAX_EPS; i++)
		new_ep();
	dl = now_ms() + 30000;
	do {
		progress_for(10);
		for (closed = 0, i = n0; i < neps; i++)
			closed += eps[i].failed;
	} while (closed < neps - n0 && now_ms() < dl);
	if (closed < neps - n0) {
		printf("FAIL: hostile flood: %d of %d silent endpoints still "
		       "open\n", neps - n0 - closed, neps - n0);
		fails++;
	} else {
		printf("PASS: hostile flood: all %d silent endpoints closed "
		       "(refused or HELLO timeout)\n", neps - n0);
	}
}

int main(int argc, char **argv)
{
	ucp_params_t up = {
		.field_mask = UCP_PARAM_FIELD_FEATURES,
		.features = UCP_FEATURE_AM,
	};
	ucp_worker_params_t wp = {
		.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
		.thread_mode = UCS_THREAD_MODE_SINGLE,
	};
	ucp_am_handler_param_t hp = {
		.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
			      UCP_AM_HANDLER_PARAM_FIELD_CB,
	};
	ucp_config_t *uc;
	int i;

	if (argc != 7) {
		fprintf(stderr, "usage: wire_hostile ID IFACE SERVER_ID "
			"SERVER_ADDR EPOCH MAX_PENDING\n");
		return 2;
	}
	my_id = (uint32_t)strtoul(argv[1], NULL, 0);
	srv_id = (uint32_t)strtoul(argv[3], NULL, 0);
	my_epoch = strtoull(argv[5], NULL, 0);
	if (xw_parse_addr(argv[4], &srv, &srv_len))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ucp_config_read(NULL, NULL, &uc) != UCS_OK ||
	    ucp_config_modify(uc, "TLS", "tcp") != UCS_OK ||
	    ucp_config_modify(uc, "NET_DEVICES", argv[2]) != UCS_OK ||
	    ucp_config_modify(uc, "SOCKADDR_TLS_PRIORITY", "tcp") != UCS_OK ||
	    ucp_init(&up, uc, &ucp) != UCS_OK ||
	    ucp_worker_create(ucp, &wp, &worker) != UCS_OK) {
		fprintf(stderr, "wire_hostile: UCX setup failed\n");
		return 1;
	}
	ucp_config_release(uc);
	hp.id = XW_AM_HELLO;
	hp.cb = hello_cb;
	ucp_worker_set_am_recv_handler(worker, &hp);
	hp.id = XW_AM_PING;
	hp.cb = ignore_cb;
	ucp_worker_set_am_recv_handler(worker, &hp);

	attacks((unsigned int)strtoul(argv[6], NULL, 0));

	for (i = 0; i < neps; i++) {
		ucp_request_param_t p = {
			.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
			.flags = UCP_EP_CLOSE_FLAG_FORCE,
		};
		ucs_status_ptr_t sp = ucp_ep_close_nbx(eps[i].ep, &p);

		while (UCS_PTR_IS_PTR(sp) &&
		       ucp_request_check_status(sp) == UCS_INPROGRESS)
			ucp_worker_progress(worker);
		if (UCS_PTR_IS_PTR(sp))
			ucp_request_free(sp);
	}
	ucp_worker_destroy(worker);
	ucp_cleanup(ucp);
	return fails ? 1 : 0;
}
