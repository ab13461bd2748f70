/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SIGBUS guard for guest memory the backend maps but the guest can shrink.
 *
 * A sealed memfd can never shrink under xenibd, but memory a guest shares
 * as it already is (a /dev/shm file, its own memfd, a SysV segment,
 * shared anonymous memory) can be truncated by whoever holds it, and a
 * hugetlb page may be missing when first touched.  A load or store of
 * xenibd's into such a page raises SIGBUS.  Each such mapping of the
 * backend is registered here; the handler puts a private zero page over a
 * faulting page of a registered range and lets the access complete, so
 * the guest that shrank its memory gets zeros and lost writes, and
 * xenibd and everyone else go on.  Faults anywhere else get the previous
 * disposition (the default: a crash with a core).
 */
#ifndef XENIBD_EMU_GUARD_H
#define XENIBD_EMU_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Guard [va, va + len), mapped with pages of page bytes.  0 or ENOSPC. */
int xd_guard_add(void *va, size_t len, size_t page);
/* Stop guarding the range added at va; true if it ever faulted. */
bool xd_guard_del(void *va);

#endif /* XENIBD_EMU_GUARD_H */
