// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd main loop.
 *
 * Poll the rings while there is work.  When a round finds none, the idle
 * policy (idle.c) says whether to yield the CPU and look again or to
 * sleep: tell every guest we are going to sleep (ctx page
 * backend_sleeping = 1), re-check the rings (util/xenib_ring.h: this
 * cannot lose a kick) and sleep in epoll until a doorbell, a control
 * message or the next timer.  A wake-up polls every ring again.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"
#include "xenibd/daemon/admin.h"
#include "xenibd/daemon/idle.h"
#include "xenibd/daemon/loop.h"
#include "xenibd/fabric/fabric.h"
#include "xenibd/migrate/migrate.h"
#include "xenibd/transport/emu.h"
#include "xenibd/transport/emu_node.h"
#include "xenibd/transport/xen/xen.h"
#include "xenibd/cm/cm_hook.h"

static bool stopping;
static int sig_fd = -1;

static struct xd_watch sig_watch = { .fd = -1 };

static void signal_ready(struct xd_watch *w, uint32_t events)
{
	stopping = true;
}

/*
 * Service control channels and doorbells.  Handles at most one event per
 * fd per call, so a guest flooding its channel cannot starve the others.
 */
static void service_events(const struct timespec *timeout)
{
	xd_loop_run(timeout);
}

static void set_sleeping(uint32_t v)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->page && !ctx->frozen)
			xr_backend_sleeping(ctx->page, v);
	}
}

/* While busy, look at control channels and doorbells at least this often. */
#define XD_SERVICE_NS		(1000 * 1000ull)

static struct xd_idle idle;	/* the idle policy (idle.c) */
static bool rx_waited;		/* this round already yielded for a receive */

/* Give the CPU away once; the policy learns what that cost. */
static void idle_yield(void)
{
	uint64_t t0 = xd_now_ns(), cost;

	sched_yield();
	xd.now_ns = xd_now_ns();
	cost = xd.now_ns - t0;
	if (xd_idle_yielded(&idle, cost))
		xd.stats.costly_yields++;
}

/*
 * The responder found a receive ring empty (engine.h): if yielding is
 * cheap, let a receiver that waits for our CPU post first, once a round.
 */
static bool rx_wait(void)
{
	if (rx_waited || !xd_idle_may_yield(&idle))
		return false;
	rx_waited = true;
	/* The receiver reposts for the completions it sees: show them. */
	xd_batch_flush();
	idle_yield();
	return true;
}

static void wake_latency(uint64_t ns)
{
	xd_idle_kicked(&idle, ns);
}

/*
 * Arm the guests' kicks and sleep until a doorbell, a control message or
 * the next timer, unless a producer index moved meanwhile (the Dekker
 * protocol of util/xenib_ring.h).  False: work came, do not sleep.
 */
static bool sleep_once(uint64_t next)
{
	struct timespec ts;

	xd.armed_ns = xd_now_ns();
	set_sleeping(1);
	xr_backend_arm_fence();
	xd.now_ns = xd_now_ns();
	if (xd_engine_has_work() || xd_fabric_busy()) {
		set_sleeping(0);
		return false;
	}
	xd_fabric_tick(&next);	/* the directory's timers */
	if (next != UINT64_MAX) {
		uint64_t d = next > xd.now_ns ? next - xd.now_ns : 0;

		ts.tv_sec = d / 1000000000ull;
		ts.tv_nsec = d % 1000000000ull;
	}
	xd.stats.sleeps++;
	service_events(next == UINT64_MAX ? NULL : &ts);
	set_sleeping(0);
	return true;
}

static void main_loop(void)
{
	static const struct timespec zero;
	uint64_t last_service = 0;
	unsigned int iter = 0;

	xd_idle_init(&idle, xd.cfg.spin_us * 1000ull, xd.cfg.spin_adaptive);
	xd_rx_wait_hook = rx_wait;
	xd_wake_hook = wake_latency;
	while (!stopping) {
		uint64_t next = UINT64_MAX;

		xd.now_ns = xd_now_ns();
		if (xd_xen_active())
			xd_xen_tick(&next);	/* resume timeouts, liveness */
		xd_admin_tick(&next);
		xm_tick(&next);		/* adopted contexts not taken over */
		xd_fabric_timers(&next);	/* handovers of migrations */
		xd_cm_tick(&next);		/* CM messages and timers */
		rx_waited = false;
		if (xd_engine_poll(&next) + xd_fabric_poll()) {
			/*
			 * Busy: control channels and doorbells still get a
			 * look every 64 rounds and at least every millisecond.
			 */
			xd_idle_busy(&idle);
			if (!(++iter & 63) ||
			    xd.now_ns - last_service > XD_SERVICE_NS) {
				service_events(&zero);
				last_service = xd.now_ns;
			}
			continue;
		}
		switch (xd_idle_next(&idle, xd.now_ns)) {
		case XD_IDLE_YIELD:
			xd.stats.idle_yields++;
			idle_yield();
			/* fall through */
		case XD_IDLE_POLL:
			if (!(++iter & 15))
				service_events(&zero);
			continue;
		case XD_IDLE_SLEEP:
			break;
		}
		if (sleep_once(next))
			xd_idle_woke(&idle);
		else
			xd_idle_busy(&idle);
	}
	xd_rx_wait_hook = NULL;
	xd_wake_hook = NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xenibd [-c CONF] [-d DIR] [-n DEVICE] [-x NAME]... [-f] [-v] [-s SPIN_US]\n"
		"  -c CONF    configuration file (default " XENIBD_CONF " if present)\n"
		"  -x NAME    Xen: serve the domain called NAME (repeatable; implies\n"
		"             hypervisor = xen)\n"
		"  -d DIR     run directory (default %s)\n"
		"  -n DEVICE  device name (default xenib0)\n"
		"  -f         stay in the foreground (logs on stderr)\n"
		"  -v         verbose logging\n"
		"  -s US      poll at most this long without work before sleeping\n"
		"             (default 50; less when a sleep costs less)\n"
		"  -S         no adaptation: always poll (yielding) for US first\n",
		XENIB_RUN_DIR);
}

/* "domains = a b c": names separated by blanks or commas. */
static int want_domains(const char *list)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (!list)
		return 0;
	copy = strdup(list);
	if (!copy)
		return ENOMEM;
	for (tok = strtok_r(copy, " \t,", &save); tok && !err;
	     tok = strtok_r(NULL, " \t,", &save)) {
		err = xd_xen_want(tok);
		if (err)
			xd_log("bad domain name '%s'", tok);
	}
	free(copy);
	return err;
}

/*
 * After daemon(): libxenstore reads watches in a thread of its own, which
 * would not survive the fork.
 */
static int xen_setup(void)
{
	int err = want_domains(xd.cfg.domains);

	if (!err)
		err = xd_xen_init();
	if (err)
		xd_log("cannot use Xen: %s", strerror(err));
	return err;
}

/*
 * Every guest region and notifier of the emulation is an fd of ours:
 * take all the fds we are allowed (the soft limit is often 1024 while the
 * hard one is far higher; we use epoll, never select).
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		xd_log("cannot raise the fd limit to %llu: %s",
		       (unsigned long long)rl.rlim_max, strerror(errno));
	else
		xd_dbg("fd limit raised to %llu",
		       (unsigned long long)rl.rlim_max);
}

static bool use_xen(bool names_on_cmdline)
{
	if (names_on_cmdline)
		return true;
	switch (xd.cfg.hv_mode) {
	case XD_HV_XEN:
		return true;
	case XD_HV_EMULATED:
		return false;
	default:
		return hvx_is_dom0();
	}
}

static int setup(bool xen)
{
	sigset_t mask;
	int err;

	xd.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (xd.epfd < 0)
		return errno;
	if (xd.epfd == 0)	/* 0 means "no loop" to loop.c */
		xd.epfd = fcntl(0, F_DUPFD_CLOEXEC, 3);
	if (mkdir(xd.cfg.dir, 0755) && errno != EEXIST)
		return errno;
	err = xd_state_init();
	if (err)
		return err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		return errno;
	err = xd_loop_watch(&sig_watch, sig_fd, EPOLLIN, signal_ready);
	if (!err)
		err = xd_admin_listen(xd.cfg.dir);
	return err;	/* the rest after daemon(): start() */
}

/*
 * After daemon(): libxenstore reads watches in a thread of its own, UCX
 * and libcurl keep their own state, none of which would survive the fork.
 * The guests' socket comes last: its existence means "ready".
 */
static int start(bool xen)
{
	int err = xd_fabric_init();

	if (err)
		return err;
	if (xen)
		return xen_setup();
	/* The node before the socket: a guest that connects is gated. */
	err = xd_emu_node_create(&xd.cfg.node, xd.cfg.dir, xd.cfg.devname);
	if (err)
		return err;
	err = xd_emu_listen(xd.cfg.dir, xd.cfg.devname);
	if (err)
		xd_log("cannot listen in %s: %s", xd.cfg.dir, strerror(err));
	return err;
}

static void teardown(void)
{
	while (!list_empty(&xd.ctxs))
		xd_ctx_destroy(list_entry(xd.ctxs.next, struct xd_ctx, link));
	xd_xen_fini();
	xd_fabric_fini();
	xd_emu_fini(xd.cfg.dir, xd.cfg.devname);
	xd_emu_node_remove();
	xd_admin_fini(xd.cfg.dir);
	xd_guest_fini();
}

int main(int argc, char **argv)
{
	bool foreground = false, xnames = false, xen;
	int opt, err;

	const char *conf = NULL;

	xd_config_defaults(&xd.cfg);
	xd.cfg.dir = hv_emu_dir();
	/* The configuration file first, so that options override it. */
	for (opt = 1; opt < argc - 1; opt++)
		if (!strcmp(argv[opt], "-c"))
			conf = argv[opt + 1];
	if (!conf && !access(XENIBD_CONF, R_OK))
		conf = XENIBD_CONF;
	if (conf && xd_config_load(&xd.cfg, conf)) {
		xd_log("cannot use configuration %s", conf);
		return 1;
	}
	while ((opt = getopt(argc, argv, "c:d:n:x:fvs:Sh")) != -1) {
		switch (opt) {
		case 'c':
			break;	/* read above */
		case 'x':
			if (xd_xen_want(optarg)) {
				xd_log("bad domain name '%s'", optarg);
				return 2;
			}
			xnames = true;
			break;
		case 'd':
			xd.cfg.dir = optarg;
			break;
		case 'n':
			xd.cfg.devname = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			xd.cfg.verbose = true;
			break;
		case 's':
			xd.cfg.spin_us = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			xd.cfg.spin_adaptive = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	raise_nofile();
	xen = use_xen(xnames);
	xd_config_derive(&xd.cfg, xen);
	err = setup(xen);
	if (err) {
		xd_log("cannot start in %s: %s", xd.cfg.dir, strerror(err));
		return 1;
	}
	if (!foreground && daemon(0, 0)) {
		xd_log("cannot daemonize: %s", strerror(errno));
		return 1;
	}
	if (start(xen)) {
		teardown();
		return 1;
	}
	if (xen)
		xd_log("serving Xen domains (admin socket in %s)", xd.cfg.dir);
	else
		xd_log("serving %s in %s (emulated hypervisor)",
		       xd.cfg.devname, xd.cfg.dir);
	main_loop();
	teardown();
	xd_log("stopped");
	return 0;
}
