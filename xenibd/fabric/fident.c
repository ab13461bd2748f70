// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest identities and locations from the directory (DESIGN.md 8.2).
 *
 * A guest is named by its uuid in the directory.  The emulation and Xen
 * both know guests by name (the emulation's claimed name, the Xen domain's
 * name), so the uuid is derived from the name: two FNV-1a-64 hashes of it
 * in the 8-4-4-4-12 form (version nibble 8, "custom"), the same on every
 * host.  Guest names must therefore be unique in the cluster.
 *
 * The first HELLO of a guest this host does not know asks the directory
 * (one transaction allocates its LID if it has none) and waits; the
 * identity is then kept in the guest's slot as long as the backend runs.
 * Once identified, the guest's location (loc/<lid>) is claimed for this
 * host, after the value that is there now (a host that is gone may have
 * served it before; one that is up does: the HELLO is refused, EADDRINUSE),
 * and only then is HELLO answered: a guest can give its LID to a
 * peer only once the directory routes it here.  etcd down: a guest already
 * known here keeps working; a new one fails its HELLO after the
 * directory's timeout with EHOSTUNREACH, which the provider explains
 * (xenib-abi.h); the directory's own error is logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/fint.h"

static uint64_t fnv64(const char *s, uint64_t h)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

void xf_uuid_of(const char *name, char out[XDIR_UUID_LEN + 1])
{
	uint64_t a = fnv64(name, 14695981039346656037ull);
	uint64_t b = fnv64(name, a ^ 0x9e3779b97f4a7c15ull);

	a = (a & ~0xf000ull) | 0x8000ull;	/* version nibble 8 */
	snprintf(out, XDIR_UUID_LEN + 1, "%08x-%04x-%04x-%04x-%012llx",
		 (unsigned int)(a >> 32), (unsigned int)(a >> 16) & 0xffff,
		 (unsigned int)a & 0xffff, (unsigned int)(b >> 48),
		 (unsigned long long)(b & 0xffffffffffffull));
}

/* What a directory callback needs to find its guest again. */
struct ident_op {
	uint32_t slot;
	char name[64];
	struct xd_identity ident;	/* to give once located */
};

static struct xd_guest *op_guest(const struct ident_op *op)
{
	struct xd_guest *g = &xd.guests[op->slot];

	/* The slot may have been reused meanwhile. */
	return g->name[0] && !strcmp(g->name, op->name) ? g : NULL;
}

/* The end of a guest's identification: its HELLOs are answered. */
static void located(struct ident_op *op, int err, const char *msg)
{
	struct xd_guest *g = op_guest(op);

	if (err && msg)
		xd_log("fabric: guest %s: cannot claim its location: %s",
		       op->name, msg);
	if (g)
		xd_guest_ident_done(g, err, &op->ident);
	free(op);
}

static void claimed(struct xdir *d, int err, const char *msg,
		    const struct xdir_loc *l, void *arg)
{
	located(arg, err, msg);
}

static void loc_read(struct xdir *d, int err, const char *msg,
		     const struct xdir_loc *l, void *arg)
{
	struct ident_op *op = arg;
	char why[96];

	if (!op_guest(op)) {
		located(op, 0, NULL);
		return;
	}
	if (err && err != ENOENT) {
		located(op, err, msg);
		return;
	}
	/*
	 * Another host that is up serves it (it moved there): one guest,
	 * one host.  A host that is gone from the directory is not asked.
	 */
	if (l && strcmp(l->host, xd.cfg.fabric.host)) {
		struct xf_host *h = xf_host_by_name(l->host);

		if (h && h->in_dir) {
			snprintf(why, sizeof(why), "host %s serves it",
				 l->host);
			located(op, EADDRINUSE, why);
			return;
		}
	}
	err = xdir_loc_claim(d, op->ident.lid, l ? l->mod_rev : 0,
			     l ? l->gen : 0, claimed, op);
	if (err)
		located(op, -err, strerror(-err));	/* xdir: -errno */
}

static void identified(struct xdir *d, int err, const char *msg,
		       const struct xdir_ident *id, void *arg)
{
	struct ident_op *op = arg;

	if (!op_guest(op)) {
		free(op);
		return;
	}
	if (err) {
		xd_log("fabric: guest %s: no identity from the directory: %s",
		       op->name, msg);
		/* One status for the guest: no identity from the directory. */
		located(op, EHOSTUNREACH, NULL);
		return;
	}
	op->ident.lid = id->lid;
	op->ident.guid = id->guid;
	xd_log("fabric: guest %s has LID %u GUID %016llx", op->name, id->lid,
	       (unsigned long long)id->guid);
	/* Served here from now on: then the guest may know its LID. */
	err = xdir_loc_read(xf.dir, id->lid, loc_read, op);
	if (err)
		located(op, -err, strerror(-err));	/* xdir: -errno */
}

static int dir_acquire(struct xd_guest *g, struct xd_identity *id)
{
	char uuid[XDIR_UUID_LEN + 1];
	struct ident_op *op = calloc(1, sizeof(*op));
	int err;

	if (!op)
		return ENOMEM;
	op->slot = g->id;
	snprintf(op->name, sizeof(op->name), "%s", g->name);
	xf_uuid_of(g->name, uuid);
	err = xdir_guest_identity(xf.dir, uuid, identified, op);
	if (err) {
		xd_log("fabric: guest %s: cannot ask the directory: %s",
		       g->name, strerror(-err));
		free(op);
		return EHOSTUNREACH;
	}
	return EINPROGRESS;
}

static void dropped(struct xdir *d, int err, const char *msg, void *arg)
{
	if (err && err != ENOENT)
		xd_log("fabric: cannot drop a location: %s", msg);
}

static void dir_release(struct xd_guest *g)
{
	/* It is no longer served here; its identity stays in the cluster. */
	if (g->lid && xf.dir)
		xdir_loc_drop(xf.dir, g->lid, dropped, NULL);
}

const struct xd_identity_ops xf_identity = {
	.name = "directory",
	.acquire = dir_acquire,
	.release = dir_release,
};

void xf_ident_state(enum xdir_state st)
{
}
