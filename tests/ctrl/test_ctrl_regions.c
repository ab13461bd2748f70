// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, shared memory and notifiers: MAP_REGION
 * without memory, with sizes and offsets the object does not have or
 * that overflow, unknown flags, an eventfd for memory; BIND_NOTIFY of
 * unknown kinds or without its fd.
 *
 * Usage: test_ctrl_regions [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "tests/common/ctrl_guest.h"

static void cases_map_region(struct conn *a)
{
	struct xenib_map_region_req req;
	struct hv_shm shm = { .fd = -1 };
	int efd, err;

	err = hv_shm_alloc(&shm, XENIB_PAGE_SIZE, "xenib-ctrl-bad");
	if (err) {
		setup_failed("MAP_REGION cases", "memfd", err);
		return;
	}
	efd = eventfd(0, EFD_CLOEXEC);
#define MAP_CASE(nm, np, off, flg, fd) do {				\
		if (get_ctx(a))						\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_MAP_REGION, sizeof(req));	\
		req.npages = (np);					\
		req.offset = (off);					\
		req.flags = (flg);					\
		refused(a, nm, &req, sizeof(req), (fd), ANY_ERR, 0);	\
	} while (0)
	MAP_CASE("MAP_REGION without fd", 1, 0, 0, -1);
	MAP_CASE("MAP_REGION npages 0x100000 (object is 1 page)", 0x100000, 0, 0, shm.fd);
	MAP_CASE("MAP_REGION npages 0xffffffff", 0xffffffffu, 0, 0, shm.fd);
	MAP_CASE("MAP_REGION npages 0", 0, 0, 0, shm.fd);
	MAP_CASE("MAP_REGION offset 100 (not page aligned)", 1, 100, 0, shm.fd);
	MAP_CASE("MAP_REGION offset 2^40 (beyond object)", 1, 1ull << 40, 0, shm.fd);
	MAP_CASE("MAP_REGION offset near 2^64 (overflow)", 2, ~0ull & ~4095ull, 0, shm.fd);
	MAP_CASE("MAP_REGION unknown flags 0x80", 1, 0, 0x80, shm.fd);
	if (efd >= 0)
		MAP_CASE("MAP_REGION with an eventfd (not memory)", 1, 0, 0, efd);
#undef MAP_CASE
	if (efd >= 0)
		close(efd);
	hv_shm_release(&shm, 1);
}

static void cases_bind_notify(struct conn *a)
{
	struct xenib_bind_notify_req req;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0) {
		setup_failed("BIND_NOTIFY cases", "eventfd", errno);
		return;
	}
#define BIND_CASE(nm, kind_, fd) do {					\
		if (get_ctx(a))						\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_BIND_NOTIFY, sizeof(req));	\
		req.kind = (kind_);					\
		refused(a, nm, &req, sizeof(req), (fd), ANY_ERR, 0);	\
	} while (0)
	BIND_CASE("BIND_NOTIFY kind 0", 0, efd);
	BIND_CASE("BIND_NOTIFY kind 99", 99, efd);
	BIND_CASE("BIND_NOTIFY kind 0xffffffff", 0xffffffffu, efd);
	BIND_CASE("BIND_NOTIFY COMP without fd", XENIB_NOTIFY_COMP, -1);
#undef BIND_CASE
	close(efd);
}

static void cases(struct conn *a, struct conn *b)
{
	cases_map_region(a);
	cases_bind_notify(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
