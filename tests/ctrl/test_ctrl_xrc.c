// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, OPEN_XRCD: a private domain without CREAT,
 * unknown flags, reserved fields, a key without KEYED, EXCL without
 * CREAT, a request cut to its header.
 *
 * Usage: test_ctrl_xrc [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <string.h>

#include "tests/common/ctrl_guest.h"

/* OPEN_XRCD: flags, reserved, key without KEYED, size. */
static void cases_open_xrcd(struct conn *a)
{
	static const struct {
		uint32_t flags, reserved;
		uint64_t dev;
		const char *name;
	} bad[] = {
		{ 0, 0, 0, "OPEN_XRCD private without CREAT" },
		{ 0x80 | XENIB_XRCD_CREAT, 0, 0, "OPEN_XRCD unknown flag 0x80" },
		{ XENIB_XRCD_CREAT, 1, 0, "OPEN_XRCD reserved != 0" },
		{ XENIB_XRCD_CREAT, 0, 5, "OPEN_XRCD private with a key" },
		{ XENIB_XRCD_KEYED | XENIB_XRCD_EXCL, 0, 5,
		  "OPEN_XRCD EXCL without CREAT" },
	};
	struct xenib_open_xrcd_req req;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (get_ctx(a))
			return;
		memset(&req, 0, sizeof(req));
		hdr_init(&req, XENIB_CMD_OPEN_XRCD, sizeof(req));
		req.flags = bad[i].flags;
		req.reserved = bad[i].reserved;
		req.dev = bad[i].dev;
		refused(a, bad[i].name, &req, sizeof(req), -1, EINVAL, 0);
	}
	if (!get_ctx(a)) {
		memset(&req, 0, sizeof(req));
		hdr_init(&req, XENIB_CMD_OPEN_XRCD, 16);
		refused(a, "OPEN_XRCD header only", &req, 16, -1, EINVAL, 0);
	}
}

static void cases(struct conn *a, struct conn *b)
{
	cases_open_xrcd(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
