/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Real Xen, backend (dom0) side of the hypervisor layer: the primitives
 * xenibd needs and nothing more.
 *
 *  - grant mappings through /dev/xen/gntdev, anywhere or at a fixed address
 *    (MR views), with the kernel's unmap notification for the mailbox;
 *  - one libxenevtchn handle for the whole daemon (its fd goes into the
 *    main loop's epoll set);
 *  - one libxenstore connection (ditto), one libxenctrl handle for domain
 *    information;
 *  - strict parsers for what guests write into xenstore.
 *
 * Every function that can fail returns 0 or a positive errno unless it says
 * otherwise.  Nothing here trusts a guest: a bad, foreign or revoked grant
 * reference is an error return, never a crash.
 */
#ifndef XENIB_HV_XEN_BACKEND_H
#define XENIB_HV_XEN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

/* ------------------------------------------------------------------ */
/* Detection, setup                                                    */

/*
 * True when this is a Xen control domain that can map grants:
 * /proc/xen/capabilities lists control_d and /dev/xen/gntdev exists.
 */
bool hvx_is_dom0(void);

/* Open gntdev, evtchn, xenstore and xenctrl.  0 or errno (logged by caller). */
int hvx_open(void);
void hvx_close(void);
/* Our own domain id (xenstore "domid"; 0 when it cannot be read). */
uint32_t hvx_self_domid(void);

/* ------------------------------------------------------------------ */
/* Grant mappings                                                      */

/*
 * A mapping of a guest's grants.  It may consist of several gntdev
 * mappings (requests larger than the driver's per-request limit are split);
 * hvx_gnt_unmap finds them again from the address.
 */
struct hvx_gmap {
	void *va;
	size_t len;
	uint64_t index;		/* gntdev offset of the first page */
};

/*
 * Map n grant refs of domid.  at == NULL: anywhere; else exactly at `at`
 * (page aligned; replaces whatever is mapped there, as MAP_FIXED does).
 * Writable or read-only.  EINVAL for n == 0, EFAULT when a reference is bad
 * (not granted to us, revoked, out of the guest's table), ENOMEM when
 * address space or gntdev/maptrack resources ran out.
 */
int hvx_gnt_map(uint32_t domid, const uint32_t *refs, uint32_t n, void *at,
		bool writable, struct hvx_gmap *gm);
/*
 * End a mapping.  keep_reserved: leave an inaccessible placeholder
 * (PROT_NONE) at the same addresses so pointers into it stay reserved.
 */
void hvx_gnt_unmap(struct hvx_gmap *gm, bool keep_reserved);
/*
 * When our mapping of the page holding byte `off` (of gm) goes away
 * (munmap, or the process dies), the kernel clears that byte and signals
 * local event-channel port `port` (if port != 0).
 */
int hvx_gnt_unmap_notify(const struct hvx_gmap *gm, uint32_t off,
			 uint32_t port);
/*
 * Cancel that notification (before a deliberate unmap the peer must not
 * take for our death, e.g. a freeze for its suspend).
 */
int hvx_gnt_unmap_notify_disarm(const struct hvx_gmap *gm, uint32_t off);
/* Pages per gntdev request we use (module parameter "limit", capped). */
uint32_t hvx_gnt_chunk(void);

/* ------------------------------------------------------------------ */
/* Event channels                                                      */

int hvx_evtchn_fd(void);
/* Bind the guest's unbound port; returns the local port (> 0) or -errno. */
int hvx_evtchn_bind(uint32_t domid, uint32_t remote_port);
int hvx_evtchn_notify(uint32_t local_port);
void hvx_evtchn_unbind(uint32_t local_port);
/* Next pending local port, or -1 when none (non-blocking). */
int hvx_evtchn_pending(void);
void hvx_evtchn_unmask(uint32_t local_port);

/* ------------------------------------------------------------------ */
/* Xenstore                                                            */

struct xs_handle *hvx_xs(void);
int hvx_xs_fd(void);
/*
 * Read path as a NUL-terminated string of at most max bytes.  NULL with
 * errno ENOENT (absent), E2BIG (longer than max) or the xenstore error.
 * The caller frees it.
 */
char *hvx_xs_read(xs_transaction_t t, const char *path, size_t max);
int hvx_xs_write(xs_transaction_t t, const char *path, const char *val);
int hvx_xs_printf(xs_transaction_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int hvx_xs_rm(xs_transaction_t t, const char *path);
/* mkdir path and give it perms (owner + default, then extra readers). */
int hvx_xs_mkdir_perms(xs_transaction_t t, const char *path, uint32_t owner,
		       uint32_t reader);

/* ------------------------------------------------------------------ */
/* Domains                                                             */

struct hvx_dominfo {
	bool exists;
	bool dying;
	bool shutdown;
	unsigned int shutdown_reason;	/* SHUTDOWN_*, if shutdown */
};

int hvx_domain_info(uint32_t domid, struct hvx_dominfo *info);

/* ------------------------------------------------------------------ */
/* Strict parsers (no hypervisor needed; unit-tested)                  */

/*
 * A decimal number <= max: digits only, no sign, no blanks, no leading
 * zeros except "0" itself, at most 10 digits.  0 or EINVAL.
 */
int hvx_parse_u32(const char *s, uint32_t max, uint32_t *out);
/* Exactly n decimal grant refs separated by single spaces. 0 or EINVAL. */
int hvx_parse_refs(const char *s, uint32_t *refs, unsigned int n);
/* A resume token: exactly 24 lower- or upper-case hex digits. */
int hvx_parse_token(const char *s, uint32_t *id, uint64_t *secret);

#endif /* XENIB_HV_XEN_BACKEND_H */
