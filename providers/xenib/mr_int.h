/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What mr.c (registration) shares with mr_rereg.c (re-registration): the
 * access bits an MR may have, and the areas behind its segments
 * (mr_area.h).  Both hold ctx->mr_lock.
 */
#ifndef XENIB_PROVIDER_MR_INT_H
#define XENIB_PROVIDER_MR_INT_H

#include "providers/xenib/mr_area.h"

/* Access bits the backend implements; anything else we refuse clearly. */
#define XENIB_MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | \
			 IBV_ACCESS_MW_BIND)
/* Hints we may drop without changing semantics. */
#define XENIB_MR_IGNORED (IBV_ACCESS_HUGETLB | IBV_ACCESS_OPTIONAL_RANGE)

#endif /* XENIB_PROVIDER_MR_INT_H */
