// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Blocks in ibv_get_async_event() on xenib0 until an event arrives; passes
 * if it is IBV_EVENT_DEVICE_FATAL and a verb issued afterwards fails with
 * EIO (test_faults.sh kills xenibd meanwhile).
 * Usage: fatal_wait TIMEOUT_S   (the caller bounds it; argument unused)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <infiniband/verbs.h>

int main(void)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = list && list[0] ?
				  ibv_open_device(list[0]) : NULL;
	struct ibv_async_event ev;
	struct ibv_pd *pd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ctx)
		return 2;
	if (ibv_get_async_event(ctx, &ev)) {
		printf("ibv_get_async_event failed: %s\n", strerror(errno));
		return 1;
	}
	printf("async event: %s\n", ibv_event_type_str(ev.event_type));
	ibv_ack_async_event(&ev);
	if (ev.event_type != IBV_EVENT_DEVICE_FATAL)
		return 1;
	errno = 0;
	pd = ibv_alloc_pd(ctx);
	printf("ibv_alloc_pd after the fatal error: %s\n",
	       pd ? "succeeded" : strerror(errno));
	return !pd && errno == EIO ? 0 : 1;
}
