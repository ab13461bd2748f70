// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What a Xen guest can make xenibd do in dom0's xenstore through its ctx/
 * directory (transport/xen/ctxs.c), through the fake xenstore of
 * tests/common/fake_xen.h: refusal nodes are bounded per domain and go
 * when the guest's ctx/K goes, a watch event costs a few reads however
 * many entries ctx/ has, full rescans come at most once a second, and
 * refusals are logged at a bounded rate.  The last line is "N passed,
 * N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenibd/dev/dev.h"
#include "xenibd/transport/xen/xen.h"

#include "tests/common/capture.h"
#include "tests/common/check.h"
#include "tests/common/fake_xen.h"

static const char *fe = "/local/domain/5/device/xenib/0";
static const char *be = "/local/domain/0/backend/xenib/5/0";

static void fe_rm(uint32_t k)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/ctx/%u", fe, k);
	fx_xs_rm(path);
}

/* be/ctx/K nodes for K in [from, to). */
static unsigned int be_nodes(uint32_t from, uint32_t to)
{
	unsigned int n = 0;
	uint32_t k;

	for (k = from; k < to; k++)
		n += !!fx_ctx_get(be, k, "state");
	return n;
}

static void test_refusals(void)
{
	unsigned int reads, dirs, lines;
	uint64_t next = UINT64_MAX;
	char path[160];
	uint32_t k;

	memset(fx_dominfo, 0, sizeof(fx_dominfo));
	fx_dominfo[5].exists = true;
	fx_xs_write("/local/domain/5/name", "vmr");
	CHECK(!xd_xen_want("vmr") && !xd_xen_start(0), "start, vmr wanted");
	xd_xen_xs_ready();

	/* 100 contexts that claim to be connected: "unknown context". */
	capture_start();
	for (k = 0; k < 100; k++) {
		fx_ctx_write(fe, k, "state", "4");
		xd_xen_xs_ready();
	}
	lines = capture_count("context ", true);
	CHECK(be_nodes(0, 100) == XD_XEN_MAX_REFUSED,
	      "refusal nodes are capped per domain (%u of 100 written)",
	      be_nodes(0, 100));
	CHECK(lines <= 5, "refusals logged at most 5 a second (%u lines)",
	      lines);

	/* The guest deletes its ctx/K instead of closing them. */
	for (k = 0; k < 100; k++) {
		fe_rm(k);
		xd_xen_xs_ready();
	}
	CHECK(be_nodes(0, 100) == 0, "a refusal goes with the guest's ctx/K "
	      "(%u left)", be_nodes(0, 100));

	/* Room again: the next malformed context gets its refusal. */
	fx_ctx_write(fe, 200, "ctrl-ref", "1 2");
	fx_ctx_write(fe, 200, "event-channel", "9");
	fx_ctx_write(fe, 200, "state", "3");
	xd_xen_xs_ready();
	snprintf(path, sizeof(path), "%s/ctx/200/error", be);
	CHECK(fx_xs_get(path), "a new refusal is written after the cleanup");
	fx_ctx_write(fe, 200, "state", "6");
	xd_xen_xs_ready();
	CHECK(!fx_xs_get(path), "and removed when the guest closes it");

	/* Many entries under ctx/: one event still costs a few reads. */
	for (k = 300; k < 400; k++) {
		fx_ctx_write(fe, k, "state", "1");	/* initialising: not yet ours */
		xd_xen_xs_ready();
	}
	reads = fx.xs_reads;
	dirs = fx.xs_dirs;
	fx_ctx_write(fe, 500, "state", "1");
	xd_xen_xs_ready();
	CHECK(fx.xs_reads - reads <= 2 && fx.xs_dirs == dirs,
	      "an event on ctx/500 reads ctx/500 only (%u reads, %u listings)",
	      fx.xs_reads - reads, fx.xs_dirs - dirs);

	/* An event on ctx/ itself: a full scan, but not twice a second. */
	snprintf(path, sizeof(path), "%s/ctx", fe);
	reads = fx.xs_reads;
	dirs = fx.xs_dirs;
	fx_xs_write(path, "");
	xd_xen_xs_ready();
	CHECK(fx.xs_dirs - dirs <= 1, "ctx/ itself: at most one full scan "
	      "(%u)", fx.xs_dirs - dirs);
	dirs = fx.xs_dirs;
	reads = fx.xs_reads;
	fx_xs_write(path, "");
	xd_xen_xs_ready();
	fx_xs_write(path, "");
	xd_xen_xs_ready();
	CHECK(fx.xs_dirs == dirs && fx.xs_reads == reads,
	      "more events on ctx/ within the second: deferred (%u reads)",
	      fx.xs_reads - reads);
	xd_xen_domains_tick(&next);
	CHECK(next != UINT64_MAX, "the loop is told when to scan");
	usleep(1100 * 1000);
	xd_xen_domains_tick(&next);
	CHECK(fx.xs_dirs == dirs + 1, "the deferred scan runs a second later");

	fx_dominfo[5].exists = false;
	fx_xs_write("@releaseDomain", "");
	xd_xen_xs_ready();
	CHECK(!fx_xs_get(fe) && !fx_xs_get(be), "domain's nodes removed");
	CHECK(!xd_xen_detach("vmr"), "vmr no longer wanted");
}

int main(void)
{
	if (fx_unit_init(16))
		return 1;
	test_refusals();
	return check_summary();
}
