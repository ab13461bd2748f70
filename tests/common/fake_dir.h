/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A fake cluster directory: the API of xenibd/fabric/directory.h without
 * etcd, linked instead of xenib_fabric_dir into programs that drive
 * xenibd's fabric in-process (fuzz/fuzz_fabric.c).  The program says what
 * the directory holds: the state of the join, the hosts (hosts/<id>) and
 * which host serves a LID (loc/<lid>); xenibd's fabric hears of it through
 * the callbacks it gave xdir_new, as it would from the real one's
 * xdir_process.  Resolutions answer from that table, as the real cache.
 *
 * Identities and locations (xdir_guest_identity, xdir_loc_*) are not
 * faked: they fail with EOPNOTSUPP (such a program keeps xenibd's local
 * identity allocator).
 */
#ifndef XENIB_FAKE_DIR_H
#define XENIB_FAKE_DIR_H

#include <stdint.h>

#include "xenibd/fabric/directory.h"

/* The directory xdir_new made (one at a time), or NULL. */
struct xdir *fd_dir(void);
/* The join's state changes (XDIR_UP first: the fabric starts its wire). */
void fd_state(enum xdir_state st);
/* hosts/<id> is put (addr, epoch), or deleted (addr NULL). */
void fd_host(const char *id, const char *addr, uint64_t epoch);
/* loc/<lid> names host (NULL: deleted); 0, or -ENOSPC (table full). */
int fd_loc(uint16_t lid, const char *host);

#endif /* XENIB_FAKE_DIR_H */
