/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hypervisor layer (DESIGN.md section 4): the embedded emulation and the
 * helpers both sides share, implemented in util/emu/.
 *
 * The emulation is a local xenibd reached through a unix socket in a run
 * directory, sealed memfds as shared memory and unix datagram socket
 * pairs as notifiers.  The backend (xenibd) and the test clients use the
 * functions below directly; the provider reaches the hypervisor only
 * through util/hv_guest.h, whose emulated table (util/emu/guest.c) is
 * built from them.  Control messages (hv_msg_*) and notifier fds
 * (hv_notify_*) are the same whatever the hypervisor: over Xen the
 * provider's control channel and notifiers are relayed socket pairs too.
 */
#ifndef XENIB_HV_H
#define XENIB_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Run directory of the emulated hypervisor: $XENIB_EMU_DIR or the default. */
const char *hv_emu_dir(void);

/* Socket path of device devname ("xenib0") in dir; returns 0 or errno. */
int hv_emu_sock_path(char *buf, size_t len, const char *dir,
		     const char *devname);
/*
 * Path of the symlink in dir naming devname's character node
 * (/dev/infiniband/xenibN, made by xenibd); returns 0 or errno.
 */
int hv_emu_node_link(char *buf, size_t len, const char *dir,
		     const char *devname);

/* ------------------------------------------------------------------ */
/* Shared memory (guest side), emulation: sealed memfds               */

struct hv_shm {
	void *va;		/* where the guest sees the pages */
	size_t len;		/* bytes, page multiple */
	/*
	 * Emulation: the object backing the pages (a memfd, a shmem or
	 * hugetlbfs file), else -1.  It stays open until hv_shm_release(): a
	 * context that moves passes it again to its new backend
	 * (RESUME_REGION, util/emu/move.c).
	 */
	int fd;
	uint64_t offset;	/* emulation: of va in that object (MAP_REGION) */
	int shmid;		/* emulation: SysV segment named instead, or -1 */
	/*
	 * Adopted memory: the offset /proc/self/maps shows at va while these
	 * pages are mapped there, kept current by the implementation (Xen
	 * grants the pages anew after a resume).
	 */
	uint64_t vma_off;
	/* Emulation: the memfd adopt.c made, referenced (or NULL). */
	void *backing;
	/* Xen: grants; emulation: the region's books (util/emu/guest.h). */
	void *priv;
};

/*
 * New zero-filled shareable pages. Returns 0 or errno.  Emulation: the memfd
 * is sealed against shrinking so the backend can never fault on it.
 */
int hv_shm_alloc(struct hv_shm *shm, size_t len, const char *name);

/*
 * Make [addr, addr + len) (page aligned) shareable, keeping the contents and
 * the virtual address (util/emu/shm.c): private memory is re-backed with a
 * memfd, memory that is already shared (memfds, shm files, SysV segments,
 * shared anonymous memory) is named as it is.  One object per call: on
 * success shm covers [addr, addr + shm->len), possibly less than len (the
 * caller adopts the rest with another call) or, for huge-page mappings,
 * more (rounded out to whole huge pages: shm->va <= addr).  Fails with
 * EFAULT if part of the range is not mapped or not readable and EINVAL if
 * it cannot be shared (a disk file, or shared memory whose object this
 * process cannot name).
 */
int hv_shm_adopt(struct hv_shm *shm, void *addr, size_t len);

/* Release the share; the guest mapping stays (adopted) or goes (alloc). */
void hv_shm_release(struct hv_shm *shm, int unmap);
/* adopt.c: drop the reference an adopted shm holds on its memfd (backing). */
void hv_emu_backing_put(void *backing);

/* ------------------------------------------------------------------ */
/* Notifications                                                       */

/*
 * A notifier is a pair of connected endpoints: the guest keeps one end (a
 * pollable fd handed to applications as channel/async fds) and passes the
 * other end to the backend in XENIB_CMD_BIND_NOTIFY.  Emulation: a unix
 * SOCK_DGRAM socketpair, so each side owns its own file description and
 * signals/drains with per-call MSG_DONTWAIT: a guest can never make the
 * backend block, and O_NONBLOCK set by an application on its end does not
 * leak to the backend (as it would with a shared eventfd).
 */
int hv_notify_pair(int *guest_fd, int *backend_fd);
/* Signal the other end; never blocks (a full queue means one is pending). */
int hv_notify_signal(int fd);
/* Consume pending signals without blocking; returns how many. */
uint64_t hv_notify_drain(int fd);
/* Wait for one signal and consume it; honours O_NONBLOCK (EAGAIN). 0/errno */
int hv_notify_wait(int fd);
/* Backend: check that fd is a notifier endpoint (0 or EINVAL). */
int hv_notify_check(int fd);

/* ------------------------------------------------------------------ */
/* Control channel messages (both sides)                               */

/* Send one message with an optional fd (pass_fd < 0: none). 0 or errno. */
int hv_msg_send(int sock, const void *buf, size_t len, int pass_fd);

/*
 * Receive one message (at most max bytes) and at most one fd (*fd_out = -1
 * if none; extra fds are closed).  Returns the length, 0 on orderly
 * shutdown, or -errno.  A message longer than max is reported as -EMSGSIZE
 * (and consumed).
 */
ssize_t hv_msg_recv(int sock, void *buf, size_t max, int *fd_out);

/*
 * Guest: the name HELLO (and TAKEOVER after a move) gives the backend:
 * $XENIB_EMU_GUEST, else "pid<pid>".
 */
void hv_emu_guest_name(char *buf, size_t len);

/* Guest: connect to device devname of the emulated hypervisor. fd or -errno */
int hv_emu_connect(const char *devname);

/* Backend: listening socket for devname in dir. fd or -errno */
int hv_emu_listen(const char *dir, const char *devname);

/* Backend: identity of a connected guest process (for logs/accounting). */
int hv_emu_peer_pid(int sock, pid_t *pid);
struct hv_peer;
/* Backend: its credentials (SysV segments it names are checked with them). */
int hv_emu_peer_creds(int sock, struct hv_peer *who);

/* What a guest-shared object is (hv_backend_check_shm). */
struct hv_obj_info {
	size_t page;		/* bytes per page: 4096, or hugetlbfs's */
	bool sealed;		/* a memfd sealed against shrinking */
};

/*
 * Backend: check a guest-shared fd: a shmem or hugetlbfs file opened
 * read-write that covers [offset, offset + len), aligned to its pages.
 * Unless info->sealed it may shrink later (map it guarded).  0 or errno.
 */
int hv_backend_check_shm(int fd, uint64_t offset, size_t len,
			 struct hv_obj_info *info);
/* Backend: check, then map len bytes at offset of the fd. NULL + errno. */
void *hv_backend_map(int fd, uint64_t offset, size_t len,
		     struct hv_obj_info *info);
/* Backend: map into a fixed place (MR views); 0 or errno. */
int hv_backend_map_fixed(void *at, int fd, uint64_t offset, size_t len);
void hv_backend_unmap(void *va, size_t len);

/* Credentials of a guest process (SO_PEERCRED, SO_PEERGROUPS). */
struct hv_peer {
	bool known;		/* false: refuse what needs them */
	uint32_t uid, gid;
	uint32_t groups[32];
	unsigned int ngroups;
};

/*
 * Backend: attach SysV segment shmid for a guest that names it, if who may
 * read and write it and it covers [offset, offset + len).  *base is the
 * whole segment (shmdt it), *seg_len its size.  0 or errno.
 */
int hv_backend_attach_sysv(int shmid, uint64_t offset, size_t len,
			   const struct hv_peer *who, void **base,
			   size_t *seg_len);

/*
 * Which hypervisor a guest process talks through, decided the same way by
 * the provider (hv_guest_select) and librdmacm: XENIB_HV=xen or =emu
 * says; XENIB_EMU_DIR set means the emulation; otherwise real Xen in a
 * domU (Xen underneath, not the control domain), else the emulation.
 */
bool hv_xen_domu(void);
bool hv_guest_wants_xen(void);

#endif /* XENIB_HV_H */
