// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd main loop.
 *
 * Poll the rings while there is work; after spin_us without work, tell every
 * guest we are going to sleep (ctx page backend_sleeping = 1), re-check the
 * rings (see util/xenib_ring.h for why this cannot lose a kick) and sleep in
 * epoll until a doorbell, a control message or the next retry timer.
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
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"
#include "xenibd/loop.h"
#include "xenibd/xen.h"

static bool stopping;
static int sig_fd = -1;

#define EV_TYPE_SHIFT XD_EV_TYPE_SHIFT

static void handle_event(const struct epoll_event *ev)
{
	enum xd_ev_type type = ev->data.u64 >> EV_TYPE_SHIFT;
	void *ptr = (void *)(uintptr_t)(ev->data.u64 &
					((1ull << EV_TYPE_SHIFT) - 1));

	switch (type) {
	case XD_EV_LISTEN:
		xd_ctx_accept();
		break;
	case XD_EV_CTX:
		xd_ctx_readable(ptr);
		break;
	case XD_EV_DOORBELL:
		xd.stats.doorbells +=
			(long long)hv_notify_drain(((struct xd_notify *)ptr)->fd);
		break;
	case XD_EV_ADMIN:
		xd_admin_readable(xd.admin_fd);
		break;
	case XD_EV_SIGNAL:
		stopping = true;
		break;
	case XD_EV_EVTCHN:
		xd_xen_evtchn_readable();
		break;
	case XD_EV_XENSTORE:
		xd_xen_xs_readable();
		break;
	default:
		break;
	}
}

/*
 * Service control channels and doorbells.  Handles at most one event per
 * fd per call, so a guest flooding its channel cannot starve the others.
 */
static void service_events(const struct timespec *timeout)
{
	struct epoll_event evs[32];
	int i, n;

	n = epoll_pwait2(xd.epfd, evs, 32, timeout, NULL);
	for (i = 0; i < n; i++)
		handle_event(&evs[i]);
}

static void set_sleeping(uint32_t v)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		/* We write the flag, guests read it after publishing work. */
		if (ctx->page && !ctx->frozen)
			xr_store_relaxed(&ctx->page->backend_sleeping, v);
	}
}

/*
 * Spinning only pays while we own a core.  When the cores are
 * oversubscribed (polling guests on every core) a spinning backend is
 * runnable but not running, and each WQE waits for a scheduler slice
 * (milliseconds).  A sleeping backend instead is woken by the guest's kick
 * and preempts it at once.  So: if a spin iteration took far longer than an
 * iteration can (we were descheduled), stop spinning for a while.
 */
#define XD_PREEMPT_GAP_NS	(100 * 1000ull)
#define XD_NOSPIN_NS		(200 * 1000 * 1000ull)
#define XD_NOSPIN_POLL_NS	(3 * 1000ull)
#define XD_GAP_WINDOW_NS	(20 * 1000 * 1000ull)
#define XD_GAPS_OVERSUBSCRIBED	4

static void main_loop(void)
{
	static const struct timespec zero;
	const uint64_t spin_ns = xd.cfg.spin_us * 1000ull;
	uint64_t idle_since = xd_now_ns(), last_spin = 0, nospin_until = 0;
	uint64_t gap_window = 0;
	unsigned int iter = 0, gaps = 0;
	bool spinning = false;

	while (!stopping) {
		uint64_t next = UINT64_MAX;
		struct timespec ts;

		xd.now_ns = xd_now_ns();
		if (xd.xen)
			xd_xen_tick(&next);	/* resume timeouts, liveness */
		/*
		 * An iteration long after a spin: we were descheduled while
		 * runnable (the work that arrived meanwhile does not matter).  One
		 * such gap is noise (a kernel thread, a timer); several in a
		 * short window mean the cores are oversubscribed.
		 */
		if (spinning && xd.cfg.spin_adaptive &&
		    xd.now_ns - last_spin > XD_PREEMPT_GAP_NS) {
			if (xd.now_ns - gap_window > XD_GAP_WINDOW_NS) {
				gap_window = xd.now_ns;
				gaps = 0;
			}
			if (++gaps >= XD_GAPS_OVERSUBSCRIBED)
				nospin_until = xd.now_ns + XD_NOSPIN_NS;
		}
		spinning = false;
		if (xd_engine_poll(&next)) {
			idle_since = xd.now_ns;
			if (!(++iter & 63))
				service_events(&zero);
			continue;
		}
		if (xd.now_ns >= nospin_until &&
		    xd.now_ns - idle_since < spin_ns) {
			spinning = true;
			last_spin = xd.now_ns;
			if (!(++iter & 15))
				service_events(&zero);
			sched_yield();	/* oversubscribed cores: let guests run */
			continue;
		}
		/*
		 * Oversubscribed: still catch a pipelined post that follows
		 * at once (a few microseconds), but never yield; then sleep.
		 */
		if (xd.now_ns < nospin_until &&
		    xd.now_ns - idle_since < XD_NOSPIN_POLL_NS)
			continue;
		set_sleeping(1);
		xr_full_fence();
		xd.now_ns = xd_now_ns();
		if (xd_engine_has_work()) {
			set_sleeping(0);
			idle_since = xd.now_ns;
			continue;
		}
		if (next != UINT64_MAX) {
			uint64_t d = next > xd.now_ns ? next - xd.now_ns : 0;

			ts.tv_sec = d / 1000000000ull;
			ts.tv_nsec = d % 1000000000ull;
		}
		xd.stats.sleeps++;
		service_events(next == UINT64_MAX ? NULL : &ts);
		set_sleeping(0);
		idle_since = xd_now_ns();
	}
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
		"  -s US      poll this long without work before sleeping (default 50)\n"
		"  -S         keep spinning even when descheduled (no adaptation)\n",
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
	if (sig_fd < 0 || xd_loop_watch(sig_fd, XD_EV_SIGNAL, NULL))
		return errno;

	xd.admin_fd = xd_admin_listen(xd.cfg.dir);
	if (xd.admin_fd < 0)
		return -xd.admin_fd;
	err = xd_loop_watch(xd.admin_fd, XD_EV_ADMIN, NULL);
	if (err)
		return err;
	if (xen)
		return 0;	/* xen_setup(), after daemon() */
	/* Listen last: the socket's existence means "ready". */
	xd.listen_fd = hv_emu_listen(xd.cfg.dir, xd.cfg.devname);
	if (xd.listen_fd < 0)
		return -xd.listen_fd;
	return xd_loop_watch(xd.listen_fd, XD_EV_LISTEN, NULL);
}

static void teardown(void)
{
	bool xen = xd.xen;
	char path[512];

	while (!list_empty(&xd.ctxs))
		xd_ctx_destroy(list_entry(xd.ctxs.next, struct xd_ctx, link));
	xd_xen_fini();
	/* Xen mode has no guest socket; never remove another daemon's. */
	if (!xen &&
	    !hv_emu_sock_path(path, sizeof(path), xd.cfg.dir, xd.cfg.devname))
		unlink(path);
	snprintf(path, sizeof(path), "%s/xenibd.ctl", xd.cfg.dir);
	unlink(path);
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
	xen = use_xen(xnames);
	err = setup(xen);
	if (err) {
		xd_log("cannot start in %s: %s", xd.cfg.dir, strerror(err));
		return 1;
	}
	if (!foreground && daemon(0, 0)) {
		xd_log("cannot daemonize: %s", strerror(errno));
		return 1;
	}
	if (xen && xen_setup()) {
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
