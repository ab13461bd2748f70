// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: the split-driver handshake of one context under
 * device/xenib/N (xenib-abi.h, "Real Xen transport"): we announce the
 * mailbox and control port, xenibd connects the context and answers with
 * the token a resumed context names (xenib-abi.h, "RESUME").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xen/xen.h"

/* ------------------------------------------------------------------ */
/* Handshake                                                           */

struct hs_wait {
	char path[200];
	unsigned int state;
};

static int check_backend_state(struct xs_handle *h, void *arg)
{
	struct hs_wait *w = arg;

	if (xg_xs_uint(h, w->path, &w->state))
		return 0;
	if (w->state == XENIB_XS_CONNECTED)
		return 1;
	if (w->state >= XENIB_XS_CLOSING)
		return -ECONNREFUSED;
	return 0;
}

static int check_device(struct xs_handle *h, void *arg)
{
	struct hs_wait *w = arg;
	char *b = xg_xs_get(h, w->path);

	free(b);
	return b ? 1 : 0;
}

/*
 * Announce a context for c's mailbox and control port under device
 * c->devidx and wait for the backend to connect it (token: resume).
 */
int xg_handshake(struct xg_conn *c, const char *token, int wait_ms)
{
	char base[64], front[96], back[160], val[64], *bpath = NULL;
	struct xs_handle *h = xs_open(0);
	struct hs_wait w;
	xs_transaction_t t;
	unsigned int k = 0, bdom;
	int err, tries;

	if (!h)
		return errno ? errno : EIO;
	snprintf(base, sizeof(base), XENIB_XS_FRONT_DIR "/%u", c->devidx);
	snprintf(w.path, sizeof(w.path), "%s/backend", base);
	err = xg_xs_wait(h, base, wait_ms, check_device, &w);
	if (err)
		goto out;
	bpath = xg_xs_get(h, w.path);
	snprintf(w.path, sizeof(w.path), "%s/backend-id", base);
	if (!bpath || xg_xs_uint(h, w.path, &bdom) ||
	    bdom != xg.backend_domid) {
		xg_log("xenib%u: backend moved to another domain", c->devidx);
		err = EXDEV;
		goto out;
	}

	for (tries = 0; tries < 16; tries++) {
		char *old;

		k = 1 + (unsigned int)(((unsigned int)rand() ^
					((unsigned int)getpid() << 8)) %
				       (XENIB_XS_MAX_CTX - 1));
		snprintf(front, sizeof(front), "%s/ctx/%u", base, k);
		t = xs_transaction_start(h);
		old = xg_xs_get(h, front);
		if (old) {
			free(old);
			xs_transaction_end(h, t, true);
			continue;
		}
#define PUT(key, ...)                                                      \
	do {                                                               \
		char _p[160];                                              \
		snprintf(_p, sizeof(_p), "%s/" key, front);                \
		snprintf(val, sizeof(val), __VA_ARGS__);                   \
		xs_write(h, t, _p, val, strlen(val));                      \
	} while (0)
		PUT("ctrl-ref", "%u %u %u", c->mbox_g.refs[0],
		    c->mbox_g.refs[1], c->mbox_g.refs[2]);
		PUT("event-channel", "%u", c->ctrl_port);
		if (token)
			PUT("resume", "%s", token);
		PUT("state", "%u", XENIB_XS_INITIALISED);
#undef PUT
		if (xs_transaction_end(h, t, false))
			break;
		if (errno != EAGAIN) {
			err = errno ? errno : EIO;
			goto out;
		}
	}
	if (tries == 16) {
		err = EBUSY;
		goto out;
	}
	c->ctx_id = k;

	snprintf(back, sizeof(back), "%.100s/ctx/%u", bpath, k);
	snprintf(w.path, sizeof(w.path), "%s/state", back);
	err = xg_xs_wait(h, w.path, XG_HANDSHAKE_MS, check_backend_state, &w);
	if (err) {
		char epath[180], *msg;

		snprintf(epath, sizeof(epath), "%s/error", back);
		msg = xg_xs_get(h, epath);
		xg_log("xenib%u: xenibd did not connect context %u: %s%s%s",
		       c->devidx, k, strerror(err), msg ? ": " : "",
		       msg ? msg : "");
		free(msg);
		xs_rm(h, XBT_NULL, front);
		goto out;
	}
	snprintf(w.path, sizeof(w.path), "%s/token", back);
	{
		char *tok = xg_xs_get(h, w.path);

		snprintf(c->token, sizeof(c->token), "%s", tok ? tok : "");
		free(tok);
	}
	snprintf(w.path, sizeof(w.path), "%s/state", front);
	snprintf(val, sizeof(val), "%u", XENIB_XS_CONNECTED);
	xs_write(h, XBT_NULL, w.path, val, strlen(val));
out:
	free(bpath);
	xs_close(h);
	return err;
}
