// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_ctrl: arbitrary bytes as a sequence of control messages to
 * xd_ctrl_handle() on in-process contexts.
 *
 * Input:  u8 mode, then records { u8 fdkind, u8 npages, u16 len, len bytes }.
 *   mode bit 0: start with a valid HELLO on each context
 *   mode bit 1: patch hdr.length to the record length (reach the handlers)
 *   mode bit 2: open a second context (another guest)
 *   fdkind bits 0-1: fd passed along (none, sealed memfd of npages,
 *   notifier endpoint, pipe); bit 2: send on the second context;
 *   len 0xffff: the message was too long (-EMSGSIZE).
 * Each message is copied into a buffer of exactly its length, so any read
 * past the message is an ASan report.  At the end every context is torn
 * down and the backend must hold no object.
 */
#include <errno.h>
#include <string.h>

#include "fuzz/fuzz_common.h"

static void hello(struct fz_ctx *c, const char *name)
{
	struct xenib_hello_req h = {
		.hdr = { .opcode = XENIB_CMD_HELLO, .length = sizeof(h) },
		.abi_version = XENIB_ABI_VERSION,
	};

	strcpy(h.guest_name, name);
	fz_ctrl(c, &h, sizeof(h), -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct fz_ctx c[2] = { 0 };
	static uint8_t msg[XENIB_CTRL_MAX_MSG];
	uint8_t mode;
	int i;

	fz_init();
	fz_reset();
	mode = fz_u8(&in);
	fz_ctx_open(&c[0]);
	if (mode & 4)
		fz_ctx_open(&c[1]);
	for (i = 0; i < 2 && (mode & 1); i++)
		if (c[i].ctx)
			hello(&c[i], i ? "fuzz-b" : "fuzz-a");
	while (in.left >= 4) {
		uint8_t kind = fz_u8(&in);
		uint8_t npages = fz_u8(&in);
		uint16_t len = fz_u16(&in);
		struct fz_ctx *t = (kind & 4) && c[1].ctx ? &c[1] : &c[0];
		int fd = fz_fd(kind, npages);

		if (len == 0xffff) {
			xd_ctrl_handle(t->ctx, msg, -EMSGSIZE, fd);
			fz_ctx_drain(t);
			continue;
		}
		if (len > XENIB_CTRL_MAX_MSG)
			len = XENIB_CTRL_MAX_MSG;
		if (len > in.left)
			len = in.left;
		fz_bytes(&in, msg, len);
		if ((mode & 2) && len >= sizeof(struct xenib_ctrl_hdr))
			((struct xenib_ctrl_hdr *)msg)->length = len;
		fz_ctrl(t, msg, len, fd);
	}
	fz_ctx_close(&c[1]);
	fz_ctx_close(&c[0]);
	fz_check_empty();
	return 0;
}
