// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, the handshake and framing: requests before
 * HELLO, HELLOs with a bad ABI version or length, messages shorter than a
 * header or longer than XENIB_CTRL_MAX_MSG, length fields that lie,
 * unknown opcodes; then a valid HELLO must still be answered.  Each must
 * get an error response (echoed seq, non-zero status) and must not
 * disturb xenibd.
 *
 * Usage: test_ctrl_hello [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <stdio.h>
#include <string.h>

#include "tests/common/ctrl_guest.h"

static void cases_before_hello(struct conn *a)
{
	unsigned char buf[8192];
	struct xenib_hello_req hello;
	struct xenib_alloc_pd_req pd;

	memset(buf, 0, sizeof(buf));
	if (!ensure(a, 0)) {
		struct xenib_ctrl_hdr *h = (void *)buf;

		h->opcode = XENIB_CMD_HELLO;
		h->length = 4;
		refused(a, "pre-HELLO: 4-byte message (shorter than header)",
			buf, 4, -1, EINVAL, NO_SEQ | OPCODE0);
	}
	if (!ensure(a, 0)) {
		hdr_init(&pd, XENIB_CMD_ALLOC_PD, sizeof(pd));
		refused(a, "pre-HELLO: ALLOC_PD before HELLO", &pd,
			sizeof(pd), -1, EPROTO, 0);
	}
	if (!ensure(a, 0)) {
		hdr_init(buf, 0x7777, 16);
		refused(a, "pre-HELLO: unknown opcode 0x7777", buf, 16, -1,
			ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(&hello, 0, sizeof(hello));
		hdr_init(&hello, XENIB_CMD_HELLO, sizeof(hello));
		hello.abi_version = 999;
		strcpy(hello.guest_name, "ctrl-test-badabi");
		refused(a, "pre-HELLO: HELLO abi_version 999", &hello,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(&hello, 0, sizeof(hello));
		hdr_init(&hello, XENIB_CMD_HELLO, sizeof(hello));
		hello.abi_version = 0;
		strcpy(hello.guest_name, "ctrl-test-badabi");
		refused(a, "pre-HELLO: HELLO abi_version 0", &hello,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 0, sizeof(hello) + 8);
		hdr_init(buf, XENIB_CMD_HELLO, sizeof(hello) + 8);
		((struct xenib_hello_req *)buf)->abi_version = XENIB_ABI_VERSION;
		/* length field says 96, 88 bytes sent */
		refused(a, "pre-HELLO: HELLO length field > bytes sent", buf,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 0, sizeof(hello));
		hdr_init(buf, XENIB_CMD_HELLO, 40);
		((struct xenib_hello_req *)buf)->abi_version = XENIB_ABI_VERSION;
		refused(a, "pre-HELLO: HELLO truncated to 40 bytes", buf, 40,
			-1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 0, sizeof(hello));
		hdr_init(buf, XENIB_CMD_HELLO, 16);
		((struct xenib_hello_req *)buf)->abi_version = XENIB_ABI_VERSION;
		/* length field says 16 (header only), 88 bytes sent */
		refused(a, "pre-HELLO: HELLO length field < bytes sent", buf,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 'A', sizeof(buf));
		hdr_init(buf, XENIB_CMD_HELLO, sizeof(buf));
		refused(a, "pre-HELLO: 8192-byte message (> XENIB_CTRL_MAX_MSG)",
			buf, sizeof(buf), -1, ANY_ERR, NO_SEQ);
	}
}

/* A valid HELLO, on the same channel if the backend kept it open. */
static void case_valid_hello(struct conn *a)
{
	int same, err;

	if (a->g.sock >= 0)
		drain_unsolicited(a, 20);
	same = a->g.sock >= 0 && !a->hello;

	err = same ? do_hello(a) : conn_open(a, 1);
	if (!err)
		report(a->hello_resp.abi_version == XENIB_ABI_VERSION,
		       "valid HELLO after the bad ones",
		       "%s channel, abi_version %u, guest_id %u",
		       same ? "same" : "new", a->hello_resp.abi_version,
		       a->hello_resp.guest_id);
	else
		report(0, "valid HELLO after the bad ones", "%s",
		       errname(err));
}

static void cases_framing(struct conn *a)
{
	unsigned char buf[8192];
	static const uint16_t bad_ops[] = { 0, XENIB_CMD_MAX, 0x1234, 0xffff };
	char name[80];
	size_t i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		if (ensure(a, 1))
			return;
		hdr_init(buf, bad_ops[i], 24);
		snprintf(name, sizeof(name), "unknown opcode %u", bad_ops[i]);
		refused(a, name, buf, 24, -1, EINVAL, 0);
	}
	if (!ensure(a, 1)) {
		memset(buf, 0, 64);
		buf[0] = XENIB_CMD_ALLOC_PD;
		refused(a, "8-byte message (shorter than header)", buf, 8, -1,
			EINVAL, NO_SEQ | OPCODE0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_ALLOC_PD, 24);
		refused(a, "ALLOC_PD: length field 24, 16 bytes sent", buf, 16,
			-1, ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_DEALLOC_PD, 16);
		refused(a, "DEALLOC_PD: header only (no handle)", buf, 16, -1,
			ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		struct xenib_handle_req *q = (void *)buf;

		hdr_init(q, XENIB_CMD_QUERY_PORT, sizeof(*q));
		q->handle = 0;
		refused(a, "QUERY_PORT port 0", buf, sizeof(*q), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		struct xenib_handle_req *q = (void *)buf;

		hdr_init(q, XENIB_CMD_QUERY_PORT, sizeof(*q));
		q->handle = 2;
		refused(a, "QUERY_PORT port 2 (device has 1)", buf, sizeof(*q),
			-1, ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_QUERY_PORT, 0);
		refused(a, "QUERY_PORT: length field 0", buf, 16, -1, ANY_ERR,
			0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_QUERY_PORT, 0xffffffffu);
		refused(a, "QUERY_PORT: length field 0xffffffff", buf, 16, -1,
			ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		memset(buf, 0xee, sizeof(buf));
		hdr_init(buf, XENIB_CMD_REG_MR, sizeof(buf));
		refused(a, "8192-byte REG_MR (> XENIB_CTRL_MAX_MSG)", buf,
			sizeof(buf), -1, ANY_ERR, NO_SEQ);
	}
}

static void cases(struct conn *a, struct conn *b)
{
	cases_before_hello(a);
	case_valid_hello(a);
	cases_framing(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
