#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Write the seed corpora in fuzz/corpus/<harness>/ (valid setups that the
fuzzers mutate).  Input formats are described at the top of each harness;
handles are deterministic per input (first object of a kind is 0x100, ...).
Usage: fuzz/mkcorpus.py [OUTDIR]"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")

(HELLO, MAP_REGION, UNMAP_REGION, BIND_NOTIFY, UNBIND_NOTIFY, QUERY_DEVICE,
 QUERY_PORT, ALLOC_PD, DEALLOC_PD, REG_MR, DEREG_MR, CREATE_CQ, DESTROY_CQ,
 CREATE_QP, MODIFY_QP, QUERY_QP, DESTROY_QP) = range(1, 18)
INVALID = 0xffffffff
H1, H2, H3 = 0x100, 0x200, 0x300
IOVA = 0x10000000


def hdr(op, body, seq=0):
    return struct.pack("<HHII I", op, 0, 16 + len(body), seq, 0) + body


def ring(region, entries, offset, stride):
    return struct.pack("<IIQII", region, entries, offset, stride, 0)


def attr(state, access=0, dest_qp=0, dlid=0, mtu=0, timeout=0, retry=0,
         rnr_retry=0, rnr_timer=0, rd=0, port=1):
    a = struct.pack("<8I", state, 0, mtu, 0, 0, 0, dest_qp, access)
    a += struct.pack("<H10B", 0, port, rnr_timer, timeout, retry, rnr_retry,
                     rd, rd, 0, 0, 0)
    a += bytes(16) + struct.pack("<I4BH4BH", 0, 0, 0, 0, 0, dlid, 0, 0, 0,
                                 1, 0)
    assert len(a) == 76
    return a


def hello(name=b"seed-a"):
    return hdr(HELLO, struct.pack("<II64s", 1, 0, name))


def map_region(npages, flags=0, offset=0):
    return hdr(MAP_REGION, struct.pack("<IIQQ", npages, flags, offset, 0))


def handle(op, h):
    return hdr(op, struct.pack("<II", h, 0))


def bind(kind):
    return hdr(BIND_NOTIFY, struct.pack("<II", kind, 0))


def reg_mr(pd, region, length, access=7):
    return hdr(REG_MR, struct.pack("<IIQQII", pd, access, IOVA, length, 1, 0)
               + struct.pack("<IIQQ", region, 0, 0, length))


def create_cq(region, notify=INVALID):
    return hdr(CREATE_CQ, ring(region, 8, 0, 64) + struct.pack("<II",
                                                                 notify, 0))


def create_qp(pd, cq, region):
    return hdr(CREATE_QP, struct.pack("<10I", pd, 2, cq, cq, INVALID, 0, 2,
                                      2, 64, 0)
               + ring(region, 8, 8192, 128) + ring(region, 8, 16384, 128))


def modify(qpn, mask, a):
    return hdr(MODIFY_QP, struct.pack("<II", qpn, mask) + a)


# IBV_QP_* masks
STATE, ACCESS, PKEY, PORT, AV, MTU, TIMEOUT, RETRY, RNR_RETRY, RQ_PSN, \
    MAX_RD, RNR_TIMER, SQ_PSN, MAX_DEST_RD, DEST_QPN = (
        1, 8, 16, 32, 128, 256, 512, 1024, 2048, 4096, 8192, 32768, 65536,
        131072, 1048576)


def setup():
    """(kind, npages, message): a whole context with a connected RC QP."""
    return [
        (1, 1, map_region(1, 1)),       # ctx page
        (2, 0, bind(1)),                # doorbell
        (2, 0, bind(3)),                # async
        (2, 0, bind(2)),                # completion channel
        (0, 0, hdr(ALLOC_PD, b"")),
        (1, 6, map_region(6)),          # CQ ring @0, SQ @8K, RQ @16K
        (1, 2, map_region(2)),          # buffer
        (0, 0, reg_mr(H1, H3, 8192)),
        (0, 0, create_cq(H2, H3)),
        (0, 0, create_qp(H1, H1, H2)),
        (0, 0, modify(H1, STATE | PKEY | PORT | ACCESS,
                      attr(1, access=7))),
        (0, 0, modify(H1, STATE | AV | MTU | DEST_QPN | RQ_PSN |
                      MAX_DEST_RD | RNR_TIMER,
                      attr(2, dest_qp=H1, dlid=2, mtu=3, rnr_timer=1, rd=1))),
        (0, 0, modify(H1, STATE | SQ_PSN | TIMEOUT | RETRY | RNR_RETRY |
                      MAX_RD, attr(3, timeout=14, retry=7, rnr_retry=7,
                                   rd=1))),
        (0, 0, handle(QUERY_QP, H1)),
        (0, 0, hdr(QUERY_DEVICE, b"")),
        (0, 0, handle(QUERY_PORT, 1)),
    ]


def teardown():
    return [(0, 0, handle(op, h)) for op, h in (
        (DESTROY_QP, H1), (DESTROY_CQ, H1), (DEREG_MR, H1),
        (DEALLOC_PD, H1), (UNMAP_REGION, H2), (UNMAP_REGION, H3),
        (UNBIND_NOTIFY, H3), (UNMAP_REGION, H1))]


def ctrl_input(mode, recs):
    out = bytes([mode])
    for kind, npages, msg in recs:
        out += struct.pack("<BBH", kind, npages, len(msg)) + msg
    return out


def write(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def ctrl_seeds():
    write("fuzz_ctrl", "setup", ctrl_input(1, setup()))
    write("fuzz_ctrl", "setup-teardown", ctrl_input(1, setup() + teardown()))
    write("fuzz_ctrl", "hello-only", ctrl_input(0, [(0, 0, hello())]))
    # Second guest names the first one's handles (bit 2 of kind).
    other = [(k | 4, n, m) for k, n, m in setup()[:5]] + [
        (4, 0, handle(DESTROY_QP, H1)), (4, 0, handle(DEREG_MR, H1))]
    write("fuzz_ctrl", "two-guests", ctrl_input(5, setup() + other))
    write("fuzz_ctrl", "oversize", ctrl_input(1, [(0, 0, b"\0" * 16)] +
                                              [(0, 0, b"")]) +
          struct.pack("<BBH", 0, 0, 0xffff))


# fuzz_wqe: byte 0 rnr_retry (side 0 in bits 0-2, side 1 in bits 5-7), byte 1
# the pair type, then steps (side bit 7): write_sq 0, write_rq 1, sq prod 2,
# rq prod 3, cq cons 4, arm 5, run 6, destroy qp 8, release 9, modify 10,
# page 11.
RC, UC, UD, XRC, RC_SRQ = range(5)
(WR_WRITE, WR_WRITE_IMM, WR_SEND, WR_SEND_IMM, WR_READ, WR_CAS,
 WR_FAA) = range(7)
F_SIGNALED, F_SOLICITED, F_INLINE = 2, 8, 4


def count(n):
    # pick_count: < 0x20 as it is, else a u32
    return bytes([n]) if n < 0x20 else bytes([0x80]) + struct.pack("<I", n)


def sge(off, length, key=0):
    # pick_addr: k=0 -> IOVA + u16; length: flag 0 + u16; pick_key: k
    return struct.pack("<BHBHB", 0, off, 0, length, key)


def sq_wqe(opcode, flags, nsge, raddr_off=0, rkey=1, sges=(), inline=None,
           pair=RC, idx=0):
    b = struct.pack("<BBBBBBBI", idx, 0, 7, 0, opcode, 0, flags, 0x12345678)
    b += count(nsge)
    b += struct.pack("<BH", 0, len(inline) if inline is not None else 0)
    b += struct.pack("<BH", 0, raddr_off) + bytes([rkey])
    b += struct.pack("<QQ", 1, 2)
    if pair == UD:
        b += bytes([1, 0, 0])     # QP's qkey, our AH, the peer's QPN
    elif pair == XRC:
        b += bytes([1])           # the peer's XRC SRQ
    if inline is not None:
        return b + bytes([1]) + struct.pack("<H", len(inline)) + inline
    return b + bytes([0, len(sges)]) + b"".join(sges)


def rq_wqe(nsge, sges, idx=0):
    return (bytes([0x81, idx, 0, 9]) + count(nsge) + bytes([len(sges)]) +
            b"".join(sges))


RUN = bytes([6, 0])
REAP = bytes([4, 8, 0x84, 8])


def produce(side, n):
    return bytes([2 | (0x80 if side else 0), n])


def wqe_seed(name, pair, body, rnr=0):
    write("fuzz_wqe", name, bytes([rnr, pair]) + body)


def wqe_seeds():
    post = bytes([0x83, 1])
    recv = rq_wqe(1, [sge(1024, 256)]) + post
    send = sq_wqe(WR_SEND, F_SIGNALED, 1, sges=[sge(0, 64)]) + \
        produce(0, 1) + RUN + bytes([0x86, 0])
    wqe_seed("send-recv", RC, recv + send + REAP)
    wqe_seed("rdma-write", RC, sq_wqe(
        WR_WRITE, F_SIGNALED, 2, raddr_off=4096,
        sges=[sge(0, 64), sge(128, 64)]) + produce(0, 1) + RUN + REAP)
    wqe_seed("rdma-read", RC, sq_wqe(
        WR_READ, F_SIGNALED, 1, raddr_off=4096, sges=[sge(0, 512)]) +
        produce(0, 1) + RUN)
    wqe_seed("atomic", RC, sq_wqe(
        WR_CAS, F_SIGNALED, 1, raddr_off=8, sges=[sge(64, 8)]) +
        produce(0, 1) + RUN +
        sq_wqe(WR_FAA, F_SIGNALED, 1, raddr_off=16, sges=[sge(72, 8)],
               idx=1) + produce(0, 1) + RUN)
    wqe_seed("inline-armed", RC, bytes([0x85, 1]) + recv + sq_wqe(
        WR_SEND_IMM, F_SIGNALED | F_SOLICITED | F_INLINE, 0,
        inline=b"x" * 32) + produce(0, 1) + RUN)
    wqe_seed("rnr-retry", RC, send + bytes([6, 0x80, 0, 0, 0, 1]) +
             bytes([6, 0x80, 0, 0, 0, 0x10]), rnr=0x21)
    wqe_seed("destroy-in-flight", RC, recv + send[:-4] +
             bytes([8, 0x88]) + RUN)
    wqe_seed("bad-index", RC, bytes([2, 0x80, 0, 0, 1, 0]) + RUN)
    # The READ + INLINE stack smash of issue 10 and its neighbours: INLINE
    # on every opcode with SGE-shaped inline bytes, huge num_sge.
    shaped = b"".join(struct.pack("<QII", 0x10000000 + 64 * i, 64, 0x100)
                      for i in range(24))
    for pair, pname in ((RC, "rc"), (XRC, "xrc"), (UC, "uc"), (UD, "ud")):
        for op in range(7):
            for n in (0, 17, 24, 0xffffffff):
                wqe_seed("inline-op%d-sge%x-%s" % (op, n, pname), pair,
                         sq_wqe(op, F_SIGNALED | F_INLINE, n, raddr_off=512,
                                inline=shaped, pair=pair) + produce(0, 1) +
                         RUN + REAP)
        wqe_seed("huge-sge-%s" % pname, pair, sq_wqe(
            WR_WRITE, F_SIGNALED, 0xffffffff, raddr_off=512,
            sges=[sge(0, 64)] * 28, pair=pair) + produce(0, 1) + RUN)
        wqe_seed("send-recv-%s" % pname, pair,
                 rq_wqe(17, [sge(1024, 256)] * 20) + post +
                 rq_wqe(1, [sge(1024, 256)]) + post +
                 sq_wqe(WR_SEND, F_SIGNALED, 1, sges=[sge(0, 64)],
                        pair=pair) + produce(0, 1) + RUN + REAP)
    wqe_seed("srq-send-recv", RC_SRQ, rq_wqe(0xffffffff, [sge(0, 8)]) +
             post + recv + send + send + REAP)


def hs_seeds():
    ctx_page = bytes([1, 0x21, 0, 0, 1, 1])
    doorbell = bytes([3, 1, 0, 0, 0, 0, 2, 0])
    async_ = bytes([3, 3, 0, 0, 0, 0, 2, 0])
    base = bytes([0, 0]) + ctx_page + doorbell + async_
    write("fuzz_handshake", "setup", base + bytes([7, 0, 7, 1, 7, 2]))
    write("fuzz_handshake", "setup-events", base +
          bytes([9, 16, 0, 1, 0, 0, 0, 5, 0x00, 1, 0, 0]))
    write("fuzz_handshake", "two-guests", base + bytes([0x10, 1]) +
          bytes([0x11]) + ctx_page[1:] + bytes([0x15, 0x40]))
    write("fuzz_handshake", "release", base + bytes([5, 0, 6, 1, 6, 2, 8]))
    write("fuzz_handshake", "hello-twice", bytes([0, 0, 0, 0, 0x20, 4]) +
          bytes([0x20, 4, 0x20, 4]))


# fuzz_xen: grant refs name pages of the fake guest memory (ref r = page
# r - 1); the mailbox is at refs 1-3.
RESUME_REGION, RESUME_NOTIFY, RESUME_DONE = 27, 28, 29


def x_poke(ref, off, data):
    assert len(data) < 256
    return struct.pack("<BBHB", 0, ref - 1, off, len(data)) + data


def x_dir(dref, first, npages):
    """Directory at dref, its one list page at dref + 1, pages first..."""
    return (x_poke(dref, 0, struct.pack("<I", dref + 1)) +
            x_poke(dref + 1, 0, struct.pack("<%dI" % npages,
                                            *range(first, first + npages))))


def x_req(msg, relay=False):
    return struct.pack("<BHB", 1, len(msg), 1 | (2 if relay else 0)) + msg


def x_map(npages, dref, flags=0):
    return x_req(hdr(MAP_REGION, struct.pack("<IIQQ", npages, flags, 0,
                                             dref)))


def x_bind(kind, port):
    return x_req(hdr(BIND_NOTIFY, struct.pack("<II", kind, port)))


def xen_setup():
    """Context page (dir 10), data region of 6 pages (dir 20), buffer of 2
    pages (dir 22), doorbell, async and completion ports, PD, MR, CQ, a
    connected QP (the requests of setup() from REG_MR on)."""
    recs = x_dir(10, 12, 1) + x_dir(20, 30, 6) + x_dir(22, 40, 2)
    recs += x_req(hello()) + x_map(1, 10, 1) + x_bind(1, 40) + x_bind(3, 41)
    recs += x_bind(2, 42)
    recs += x_req(hdr(ALLOC_PD, b"")) + x_map(6, 20) + x_map(2, 22)
    for _, _, msg in setup()[7:]:
        recs += x_req(msg)
    return recs


def xen_seeds():
    base = xen_setup()
    write("fuzz_xen", "setup", base)
    write("fuzz_xen", "setup-engine-tick", base + bytes([6, 5]) +
          struct.pack("<I", 300000) + bytes([6]))
    resume = bytes([3]) + struct.pack("<BBI", 4, 49, 77)
    resume += x_dir(24, 12, 1) + x_dir(26, 30, 6) + x_dir(28, 40, 2)
    for h, n, d in ((H1, 1, 24), (H2, 6, 26), (H3, 2, 28)):
        resume += x_req(hdr(RESUME_REGION, struct.pack("<IIQ", h, n, d)),
                        True)
    for h, port in ((H1, 60), (H2, 61), (H3, 62)):
        resume += x_req(hdr(RESUME_NOTIFY, struct.pack("<II", h, port)),
                        True)
    resume += x_req(hdr(RESUME_DONE, b""), True) + bytes([6])
    write("fuzz_xen", "freeze-resume", base + resume)
    write("fuzz_xen", "freeze-timeout", base + bytes([3, 5]) +
          struct.pack("<I", 0xffffffff) + bytes([5]) +
          struct.pack("<I", 0xffffffff))
    # frontend_alive 1, seen on a mailbox event; 0, seen by the scan.
    write("fuzz_xen", "process-dies", base + bytes([8, 1, 2, 0, 0, 0, 0]) +
          struct.pack("<I", 16) + bytes([8, 0, 5]) +
          struct.pack("<I", 1000000) + bytes([9]) + x_req(hello()))
    write("fuzz_xen", "parse", b"".join(
        bytes([7, len(v)]) + v for v in (
            b"4294967295", b"01", b"8 9 10", b"8  9 10",
            b"0000002a0123456789abcdef", b"0000002a0123456789abcdeg")))
    write("fuzz_xen", "raw-mailbox", bytes([2]) +
          struct.pack("<II", 1, 0xffffffff) + bytes([2]) +
          struct.pack("<II", 2, 16))


# fuzz_fabric: header (type, knobs, psn, mode), then steps; the field layout
# of every step is at the top of fuzz/fuzz_fabric.c and mirrored here.
(F_REQ, F_ANSWER, F_READ_RESP, F_RAW, F_SEND, F_RECV, F_RUN, F_COMPLETE,
 F_LAND, F_TEARDOWN, F_PEER, F_CQ, F_RUN2, F_FREEZE, F_FLOOD) = range(15)
FF_UC, FF_UD, FF_XRC, FF_RC_SRQ = UC, UD, XRC, RC_SRQ
FF_TYPES = ((RC, "rc"), (UC, "uc"), (UD, "ud"), (XRC, "xrc"),
            (RC_SRQ, "srq"))
SLICE = 1 << 20
# The remote requester's opcodes per type (IBV_WR_* numbers).
F_OPS = {RC: range(7), RC_SRQ: range(7), XRC: range(7), UC: range(4),
         UD: (WR_SEND, WR_SEND_IMM)}
(ACK, NAK_RNR, NAK_ACCESS, NAK_INV, NAK_OP, NO_ANSWER, PAUSED, BUSY,
 NAK_SEQ) = range(9)
# ops[] of step_post_send: index of each IBV_WR_* opcode
POST_IDX = {WR_SEND: 0, WR_SEND_IMM: 1, WR_WRITE: 2, WR_WRITE_IMM: 3,
            WR_READ: 4, WR_CAS: 5, WR_FAA: 6}


def f_head(t, knobs=0xf7, psn=0x123456, mode=4):
    # knobs 0xf7: rnr_retry 7, timeout 4, retry_cnt 3; mode 4: HELLO first
    return bytes([t, knobs]) + struct.pack("<I", psn)[:3] + bytes([mode])


def f_op(kind, side=0):
    return bytes([kind | (0x80 if side else 0)])


def f_msg_len(n):
    """pick_msg_len's encoding of n: (bytes, value)."""
    if n < 0x2000:
        return bytes([0]) + struct.pack("<H", n), n
    if n > 2 * SLICE + 0xffff:
        return bytes([0xe0]) + struct.pack("<Q", n), n
    if n % SLICE == 0 and n // SLICE in (1, 2):
        return bytes([0xc2 | (n // SLICE - 1)]), n
    k, extra = divmod(n, SLICE)
    assert k in (1, 2) and extra < 0x10000
    return bytes([0xc0 | (k - 1)]) + struct.pack("<H", extra), n


def f_req(op, length=64, side=0, k0=0, n=1, seq=0, rndv=False, m=0,
          addr=0, other=False, corrupt=None, mismatch=None, pre=b"",
          rkey=b"", qkey=b"", odd=b""):
    """REQ: slices k0..k0+n-1 of a message of length bytes.  seq: 0 in
    order, ("dup", d), ("gap", d) or ("raw", v).  corrupt: (offset, byte)
    of every slice's header; mismatch: (payload length, rndv) on the wire.
    m: the step's field bits; pre, rkey, qkey, odd: the bytes they read
    (bits 0-4; 5; 6; 7)."""
    atomic = op in (WR_CAS, WR_FAA)
    sl = k0 | (n - 1) << 2 | (0x10 if rndv else 0) | \
        (0x20 if mismatch else 0) | (0x40 if corrupt else 0) | \
        (0x80 if other else 0)
    sq = 0
    if seq:
        sq = {"dup": 0x40, "gap": 0x80, "raw": 0xc0}[seq[0]]
        if seq[0] != "raw":
            sq |= seq[1] & 0x3f
    b = bytes([m, sl, sq]) + pre + bytes([op])
    if atomic and not m & 32:
        msg = 8
    else:
        enc, msg = f_msg_len(length)
        b += enc
    b += rkey + bytes([0]) + struct.pack("<H", addr)
    if atomic:
        b += struct.pack("<QQ", 5, 9)
    b += qkey + odd
    for k in range(k0, k0 + n):
        if k * SLICE > msg and not mismatch:
            break
        if seq and seq[0] == "raw":
            b += struct.pack("<I", seq[1])
        if mismatch:
            b += struct.pack("<HB", mismatch[0], mismatch[1])
        if corrupt:
            b += bytes(corrupt)
        b += bytes([0x42])              # payload pattern
    return f_op(F_REQ, side) + b


def f_flood(count, *args, **kw):
    """A REQ step whose requests come 8 * (count + 1) times each."""
    return f_op(F_FLOOD, kw.get("side", 0)) + bytes([count]) + \
        f_req(*args, **kw)[1:]


def f_recv(side=0, big=False):
    """A receive WQE: one SGE of 8 KiB, or (big) two of 1 MiB + 64 KiB."""
    if not big:
        return f_op(F_RECV, side) + bytes([0, 0, 0, 0, 0, 0x20, 0])
    sge = bytes([0xc1]) + struct.pack("<H", 0xffff) + bytes([0]) + \
        struct.pack("<H", 0)
    return f_op(F_RECV, side) + bytes([3]) + sge + sge


def f_send(op, length=64, side=0, pair=RC, signaled=True, inline=None,
           big=False, ud_qpn=None):
    """A send WQE of one SGE (length bytes; big: 1 MiB + length)."""
    m = (2 if signaled else 0) | (8 if inline is not None else 0) | \
        (64 if ud_qpn is not None else 0)
    b = bytes([m, POST_IDX[op] if pair != UD else POST_IDX[op] & 1])
    b += bytes([0]) + struct.pack("<H", 0x100)     # remote_addr
    if op in (WR_CAS, WR_FAA):
        b += struct.pack("<QQ", 1, 2)
    if ud_qpn is not None:
        b += struct.pack("<I", ud_qpn)
    if inline is not None:
        return f_op(F_SEND, side) + b + bytes([inline])
    if op not in (WR_CAS, WR_FAA):
        b += bytes([0])                 # one SGE
        b += (bytes([0xc1]) if big else bytes([0])) + \
            struct.pack("<H", length)
    b += bytes([0]) + struct.pack("<H", 0x8000)    # at iova + 32 KiB
    return f_op(F_SEND, side) + b


def f_answer(ack, idx=0, side=0, m=0, rnr=1, back=0, extra=b""):
    return f_op(F_ANSWER, side) + bytes([m, ack, idx, rnr, back]) + extra


def f_read_resp(idx=0, side=0, m=0, extra=b""):
    return f_op(F_READ_RESP, side) + bytes([m, idx]) + extra + bytes([0x37])


F_RUN1 = f_op(F_RUN) + bytes([10])                  # 10 us
F_RUN_MS = f_op(F_RUN) + bytes([64 + 50])           # 50 ms
F_RUN_FAR = f_op(F_RUN) + bytes([0x80]) + struct.pack("<I", 0x40000000)
F_DONE = f_op(F_COMPLETE) + bytes([0x80, 0])        # every send, OK
F_LANDALL = f_op(F_LAND) + bytes([0x80, 0])         # every landing, OK
F_FAILALL = f_op(F_LAND) + bytes([0x82, 0])         # every landing fails
F_CQ_REAP = f_op(F_CQ) + bytes([1]) + f_op(F_CQ, 1) + bytes([1])


def f_seed(name, t, body, **head):
    write("fuzz_fabric", name, f_head(t, **head) + body)


def fabric_seeds():
    for t, tn in FF_TYPES:
        # Every opcode of the remote requester, first/middle/last slices.
        for op in F_OPS[t]:
            recv = f_recv() if op in (WR_SEND, WR_SEND_IMM,
                                      WR_WRITE_IMM) else b""
            f_seed("req-op%d-%s" % (op, tn), t, recv + f_req(op) +
                   F_RUN1 + F_DONE + F_CQ_REAP)
            if t == UD or op in (WR_CAS, WR_FAA):
                continue
            big = 2 * SLICE + 100
            f_seed("req-op%d-3slices-%s" % (op, tn), t,
                   f_recv(big=True) + f_req(op, big, n=3) + F_DONE)
            f_seed("req-op%d-3slices-rndv-%s" % (op, tn), t,
                   f_recv(big=True) + f_req(op, big, n=3, rndv=True) +
                   F_LANDALL + F_DONE)
            f_seed("req-op%d-slice-steps-%s" % (op, tn), t,
                   f_recv(big=True) + f_req(op, big, k0=0) +
                   f_req(op, big, k0=1) + f_req(op, big, k0=2) + F_DONE)
            f_seed("req-op%d-middle-only-%s" % (op, tn), t,
                   f_recv(big=True) + f_req(op, big, k0=1) + F_DONE)
        # Duplicates and gaps (RC, XRC: sequence numbers).
        f_seed("dup-send-%s" % tn, t, f_recv() + f_req(WR_SEND) +
               f_req(WR_SEND, seq=("dup", 0)) + F_DONE)
        f_seed("gap-send-%s" % tn, t, f_recv() +
               f_req(WR_SEND, seq=("gap", 4)) + f_req(WR_SEND) + F_DONE)
        f_seed("rndv-out-of-order-%s" % tn, t, f_recv() + f_recv() +
               f_req(WR_SEND, 4000, rndv=True) + f_req(WR_SEND, 100) +
               F_LANDALL + F_DONE)
        # Our requests, and answers of every kind to them.
        for op in F_OPS[t]:
            if t == UD:
                f_seed("send-op%d-ud" % op, t, f_send(op, pair=UD) +
                       F_RUN1 + F_DONE + F_RUN1 + F_CQ_REAP)
                continue
            f_seed("send-op%d-%s" % (op, tn), t, f_send(op, pair=t) +
                   F_RUN1 + F_DONE + f_answer(ACK, m=32 if op in
                                              (WR_CAS, WR_FAA) else 0,
                                              extra=struct.pack("<Q", 77)
                                              if op in (WR_CAS, WR_FAA)
                                              else b"") + F_CQ_REAP)
        if t in (RC, XRC):
            for ack in range(1, 9):
                f_seed("answer-%d-%s" % (ack, tn), t,
                       f_send(WR_SEND, pair=t) + f_send(WR_WRITE, pair=t) +
                       F_DONE + f_answer(ack, idx=1) + F_RUN_MS +
                       F_DONE + f_answer(ACK) + F_CQ_REAP)
            f_seed("answer-stale-epoch-%s" % tn, t, f_send(WR_SEND, pair=t) +
                   f_answer(ACK, m=2, extra=struct.pack("<I", 1)))
            f_seed("answer-other-host-%s" % tn, t, f_send(WR_SEND, pair=t) +
                   f_answer(ACK, m=8))
            f_seed("read-resp-%s" % tn, t, f_send(WR_READ, 512, pair=t) +
                   F_DONE + f_read_resp() + F_CQ_REAP)
            f_seed("read-resp-rndv-%s" % tn, t, f_send(WR_READ, 0x4000,
                                                      pair=t, big=True) +
                   F_RUN1 + F_DONE + f_read_resp(idx=1, m=32) +
                   f_read_resp(idx=0, m=32) + F_LANDALL + F_CQ_REAP)
            f_seed("read-resp-short-%s" % tn, t, f_send(WR_READ, 512,
                                                       pair=t) +
                   f_read_resp(m=1, extra=bytes([0, 16])))
            f_seed("read-resp-mismatch-%s" % tn, t,
                   f_send(WR_READ, 512, pair=t) +
                   f_read_resp(m=2, extra=struct.pack("<H", 100)))
            f_seed("timeout-retry-%s" % tn, t, f_send(WR_SEND, pair=t) +
                   F_RUN_FAR + F_RUN_FAR + F_RUN_FAR + F_RUN_FAR +
                   F_RUN_FAR + F_DONE + F_CQ_REAP)
        # Teardown with things in flight.
        f_seed("destroy-qp-landing-%s" % tn, t, f_recv() +
               f_req(WR_SEND, 4000, rndv=True) +
               f_op(F_TEARDOWN) + bytes([0]) + F_LANDALL)
        f_seed("destroy-ctx-in-flight-%s" % tn, t, f_recv() +
               f_send(WR_SEND, pair=t) + f_req(WR_SEND, 4000, rndv=True) +
               f_op(F_TEARDOWN) + bytes([7]) + F_LANDALL + F_DONE)
        f_seed("reset-in-flight-%s" % tn, t, f_recv() +
               f_send(WR_SEND, pair=t) + f_req(WR_SEND, 4000, rndv=True) +
               f_op(F_TEARDOWN) + bytes([6]) + F_LANDALL + F_DONE +
               f_answer(ACK))
        # A request that reaches the QP before it is in RTR.
        f_seed("req-before-rtr-%s" % tn, t,
               f_op(F_TEARDOWN) + bytes([3]) + f_op(F_TEARDOWN) +
               bytes([4]) + f_recv() + f_req(WR_SEND) + f_op(F_TEARDOWN) +
               bytes([5]) + f_req(WR_SEND) + F_DONE + F_CQ_REAP)
        # A suspended guest: other hosts' requests and answers meanwhile.
        freeze = f_op(F_FREEZE)
        f_seed("frozen-req-%s" % tn, t, f_recv() + freeze +
               f_req(WR_SEND) + f_req(WR_SEND, seq=("dup", 0)) +
               f_req(WR_READ) + freeze + f_req(WR_SEND) + F_DONE +
               F_CQ_REAP)
        f_seed("frozen-answer-%s" % tn, t, f_send(WR_SEND, pair=t) +
               f_send(WR_SEND, pair=t) + freeze + F_DONE +
               f_answer(ACK, idx=1) + f_answer(ACK) + F_RUN1 + freeze +
               F_RUN1 + F_CQ_REAP)
        if t in (RC, XRC):
            f_seed("frozen-read-resp-%s" % tn, t,
                   f_send(WR_READ, 512, pair=t) +
                   f_send(WR_READ, 0x4000, pair=t, big=True) + F_RUN1 +
                   F_DONE + freeze + f_read_resp(idx=2) +
                   f_read_resp(idx=1, m=32) +
                   f_read_resp(idx=0, m=32) + F_LANDALL + freeze +
                   F_RUN1 + F_CQ_REAP)
            f_seed("frozen-atomic-%s" % tn, t, f_send(WR_FAA, pair=t) +
                   F_DONE + freeze + f_answer(ACK, m=32,
                                              extra=struct.pack("<Q", 5)) +
                   freeze + F_RUN1 + F_CQ_REAP)
            f_seed("frozen-reset-%s" % tn, t, f_send(WR_SEND, pair=t) +
                   freeze + f_answer(ACK) + freeze +
                   f_op(F_TEARDOWN) + bytes([3]) + F_RUN1)
        # Peers: down with a landing pending; HELLOs the host refuses.
        f_seed("peer-down-landing-%s" % tn, t, f_recv() +
               f_send(WR_SEND, pair=t) + f_req(WR_SEND, 4000, rndv=True) +
               f_op(F_PEER) + bytes([4]) + F_RUN1 + F_LANDALL)
        f_seed("hello-refused-%s" % tn, t, f_send(WR_SEND, pair=t) +
               f_op(F_PEER) + bytes([1]) + f_op(F_PEER) + bytes([2]) +
               f_op(F_PEER) + bytes([3]) + f_op(F_PEER) + bytes([0]) +
               F_RUN_MS + F_DONE, mode=0)
        f_seed("host-leaves-%s" % tn, t, f_send(WR_SEND, pair=t) +
               f_op(F_PEER) + bytes([5]) + F_RUN_MS + f_op(F_PEER) +
               bytes([6]) + f_op(F_PEER) + bytes([0]) + F_RUN_MS + F_DONE)
        f_seed("host-restarts-%s" % tn, t, f_send(WR_SEND, pair=t) +
               f_op(F_PEER) + bytes([0x86]) + f_op(F_PEER) + bytes([0]) +
               F_RUN_MS + F_DONE + f_answer(ACK))
        f_seed("route-moves-%s" % tn, t, f_op(F_PEER) + bytes([0x47]) +
               f_send(WR_SEND, pair=t) + f_op(F_PEER) + bytes([0x87]) +
               f_send(WR_SEND, pair=t) + F_RUN_MS + F_DONE)
        f_seed("inflight-1-%s" % tn, t, f_send(WR_SEND, pair=t) +
               f_send(WR_SEND, pair=t) + f_recv() +
               f_req(WR_SEND) + F_RUN_MS + F_DONE + F_RUN_MS + F_DONE,
               mode=4 | 8)
    # Reproducers.  A READ whose rendezvous response lands after the ACK of
    # the SEND behind it: the READ completed without its data.
    for t, tn in ((RC, "rc"), (XRC, "xrc")):
        f_seed("read-landing-overtaken-%s" % tn, t,
               f_send(WR_READ, 0x4000, pair=t) + f_send(WR_SEND, pair=t) +
               F_DONE + f_read_resp(idx=1, m=32) + f_answer(ACK) +
               F_RUN1 + F_LANDALL + F_CQ_REAP)
        f_seed("read-landing-fails-%s" % tn, t,
               f_send(WR_READ, 0x4000, pair=t) + f_send(WR_SEND, pair=t) +
               F_DONE + f_read_resp(idx=1, m=32) + f_answer(ACK) +
               F_FAILALL + F_RUN_MS + F_DONE + f_read_resp(idx=1) +
               f_answer(ACK) + F_CQ_REAP)
    # A UD QPN past 24 bits left as a malformed REQ.
    f_seed("ud-qpn-past-24-bits", UD, f_send(WR_SEND, pair=UD,
                                             ud_qpn=0x1000000) + F_DONE)
    # Another host's requests to a QP's FIFO past its limits: 1104 behind a
    # rendezvous one, and 80 of 1 MiB (its 64 MiB).
    f_seed("flood-count", RC, f_recv() + f_req(WR_SEND, 100, rndv=True) +
           f_flood(137, WR_WRITE, 16) + F_LANDALL + F_DONE)
    f_seed("flood-bytes", RC, f_req(WR_WRITE, 100, rndv=True) +
           f_flood(9, WR_WRITE, SLICE, rndv=True) + F_LANDALL + F_DONE)
    # READ responses the host does not fetch: pinned here uncounted (a
    # flood of duplicates: any amount of memory).
    f_seed("read-resp-unaccounted", RC, f_req(WR_READ, 4096) +
           f_req(WR_READ, 4096, seq=("dup", 0)) + F_DONE)
    # Malformed variants of a good request: a byte of every field.
    for off in range(0, 136, 4):
        f_seed("req-corrupt-%03d" % off, RC, f_recv() +
               f_req(WR_SEND, corrupt=(off, 0xff)) + F_DONE)
    for plen, rndv in ((0, 0), (63, 0), (65, 1), (0xffff, 1)):
        f_seed("req-payload-%d-%d" % (plen, rndv), RC, f_recv() +
               f_req(WR_SEND, mismatch=(plen, rndv)) + F_LANDALL)
    for off in range(0, 40, 2):
        f_seed("answer-corrupt-%02d" % off, RC, f_send(WR_SEND) +
               f_answer(ACK, m=4, extra=bytes([off, 0x81])))
    f_seed("req-other-host", RC, f_recv() + f_req(WR_SEND, other=True))
    # From the other remote LID (host Y's guest), from host X.
    f_seed("req-spoofed-src", RC, f_recv() +
           f_req(WR_SEND, m=1, pre=bytes([1])))
    f_seed("req-to-other-guest", RC, f_recv(1) +
           f_req(WR_SEND, m=2 | 8, pre=bytes([5, 0])))
    f_seed("req-qp-type-uc-to-rc", RC, f_recv() +
           f_req(WR_SEND, m=16, pre=struct.pack("<I", 3)))
    f_seed("req-bad-rkey", RC, f_req(WR_WRITE, m=32,
                                    rkey=struct.pack("<I", 0x777)))
    f_seed("req-bad-qkey-ud", UD, f_recv() +
           f_req(WR_SEND, m=64, qkey=struct.pack("<I", 5)))
    f_seed("req-bad-srqn-xrc", XRC, f_recv() +
           f_req(WR_SEND, m=64, qkey=struct.pack("<II", 0x999, 0)))
    f_seed("req-odd-fields-ud", UD, f_recv() +
           f_req(WR_SEND_IMM, m=128, odd=bytes([0x0c, 3, 64, 1]) +
                 struct.pack("<I", 0xfffff) + bytes([1]) +
                 b"\xfe\x80\0\0") + F_CQ_REAP)
    f_seed("req-huge-msg", RC, f_req(WR_WRITE, 1 << 31))
    for hl, kind in ((0, 0), (7, 1), (8, 1), (40, 2), (40, 3), (136, 1),
                     (255, 1), (135, 1), (137, 1), (40, 9)):
        h = bytearray(hl)
        if hl >= 8:
            h[3] = kind
        f_seed("raw-%d-%d" % (hl, kind), RC, f_op(F_RAW) +
               bytes([1 | 2, hl]) + struct.pack("<H", 16) + bytes(h) +
               bytes([0x42]))

    # XF_CM (8): IB CM messages from host X (LID 0x40) to this host.
    def f_cm(name, typ, plen, dlid=1, slid=0x40, hplen=None, **kw):
        h = bytearray(112)
        h[3] = 8
        struct.pack_into("<BBBBHHHHI", h, 8, typ, 2, 0, 0, 0, 0xffff,
                         slid, dlid, plen if hplen is None else hplen)
        struct.pack_into("<IIQIII", h, 56, 0x1234, kw.get("rcomm", 0),
                         0x0000000001060000 | 4791, 0x100, 7, 0)
        h[84:96] = bytes([1, 1, 7, 7, 0, 0, 5, 14, 0, 0, 0, 0])
        pd = bytes([0, 0x40]) + bytes(plen - 2) if plen >= 2 else bytes(plen)
        f_seed(name, RC, f_op(F_RAW) + bytes([1 | 2, 112]) +
               struct.pack("<H", plen) + bytes(h) + pd +
               f_op(F_RUN) + bytes([100]))
    f_cm("cm-req-no-listener", 1, 92)
    f_cm("cm-dreq-unknown", 6, 220, rcomm=0x55)
    f_cm("cm-sidr-req", 8, 216)
    f_cm("cm-req-bad-pdata-len", 1, 92, hplen=91)
    f_cm("cm-req-spoofed-slid", 1, 92, slid=0x41)
    f_cm("cm-rep-unknown-dlid", 4, 196, dlid=0x777, rcomm=0x99)


fabric_seeds()


# fuzz_cm: records (kind, arg, message); see the top of fuzz/fuzz_cm.c.
(CM_OPEN, CM_CREATE_ID, CM_DESTROY_ID, CM_MIGRATE_ID, CM_BIND, CM_QUERY,
 CM_RESOLVE_ADDR, CM_RESOLVE_ROUTE, CM_SET_OPTION, CM_LISTEN, CM_CONNECT,
 CM_ACCEPT, CM_REJECT, CM_ESTABLISH, CM_DISCONNECT, CM_NOTIFY,
 CM_INIT_QP_ATTR, CM_GET_EVENT, CM_JOIN_MCAST,
 CM_LEAVE_MCAST) = range(0x100, 0x114)
PS_TCP, PS_UDP = 0x106, 0x111
QPT_RC, QPT_UD = 2, 4
# QPNs are per guest: each guest's first QP is 0x100, its second 0x200.
QP_A_RC, QP_A_UD, QP_B_RC, QP_B_UD = 0x100, 0x200, 0x100, 0x200
CH_A, CH_B, CH_A2 = 0, 1, 2


def cm_addr(ip=(127, 0, 0, 1), port=0, family=2):
    return struct.pack("<HHI16sQQII", family, port, 0, bytes(ip), 0, 0, 0, 0)


def cm_conn(qpn, pdata=b""):
    return struct.pack("<IBBBBBBBBII224s", qpn, 0, 1, 1, 0, 7, 7,
                       len(pdata), 0, 0, 0, pdata)


def cm_id(op, h):
    return hdr(op, struct.pack("<II", h, 0))


def cm_create(ps=PS_TCP, qpt=QPT_RC):
    return hdr(CM_CREATE_ID, struct.pack("<II", ps, qpt))


def cm_input(recs):
    out = bytes([1])
    for kind, arg, m in recs:
        out += struct.pack("<BBH", kind, arg, len(m)) + m
    return out


def cm_msg(mtype, qp_type=0, local=0, remote=0, sid=0, qpn=0):
    return struct.pack("<BBBBHHHH16s16sII4xQIIIBBBBBBBBB3xII224s", mtype,
                       qp_type, 0, 0, 0, 0xffff, 2, 3, bytes(16), bytes(16),
                       local, remote, sid, qpn, 0, 0, 1, 1, 7, 7, 0, 0, 5, 14,
                       0, 0, 0, bytes(224))


def cm_seeds():
    ev = lambda ch: (ch, 0, hdr(CM_GET_EVENT, b""))
    listen = [(CH_B, 0, cm_create()),
              (CH_B, 0, hdr(CM_BIND, struct.pack("<II", H1, 0) +
                            cm_addr(port=5000))),
              (CH_B, 0, hdr(CM_LISTEN, struct.pack("<II", H1, 4)))]
    active = [(CH_A, 0, cm_create()),
              (CH_A, 0, hdr(CM_RESOLVE_ADDR, struct.pack("<II", H2, 100) +
                            cm_addr(family=0) + cm_addr(port=5000))),
              ev(CH_A),
              (CH_A, 0, hdr(CM_RESOLVE_ROUTE, struct.pack("<II", H2, 100))),
              ev(CH_A)]
    connect = [(CH_A, 0, hdr(CM_CONNECT, struct.pack("<II", H2, 0) +
                             cm_conn(QP_A_RC, b"hi"))),
               ev(CH_B),
               (CH_B, 0, hdr(CM_ACCEPT, struct.pack("<II", H3, 0) +
                             cm_conn(QP_B_RC, b"yo"))),
               ev(CH_A), (CH_A, 0, cm_id(CM_ESTABLISH, H2)), ev(CH_B)]
    qp_attrs = [(CH_A, 0, hdr(CM_INIT_QP_ATTR, struct.pack("<II", H2, s)))
                for s in (1, 2, 3)]
    disc = [(CH_A, 0, cm_id(CM_DISCONNECT, H2)), ev(CH_B),
            (CH_B, 0, cm_id(CM_DISCONNECT, H3)), ev(CH_A),
            (CH_A | 16, 5, hdr(CM_GET_EVENT, b"")), ev(CH_B)]
    write("fuzz_cm", "connect-disconnect",
          cm_input(listen + active + connect + qp_attrs + disc))
    write("fuzz_cm", "reject", cm_input(
        listen + active + connect[:2] +
        [(CH_B, 0, hdr(CM_REJECT, struct.pack("<IBBH", H3, 4, 0, 0) +
                       b"nope" + bytes(220))), ev(CH_A)]))
    write("fuzz_cm", "no-listener", cm_input(active + connect[:1] +
                                             [ev(CH_A)]))
    write("fuzz_cm", "timeouts", cm_input(
        listen + active + connect[:2] + [(CH_A | 16, 255, b"")] * 4 +
        [ev(CH_A)]))
    sidr = [(CH_B, 0, cm_create(PS_UDP, QPT_UD)),
            (CH_B, 0, hdr(CM_BIND, struct.pack("<II", H1, 0) +
                          cm_addr(port=6000))),
            (CH_B, 0, hdr(CM_LISTEN, struct.pack("<II", H1, 4))),
            (CH_A, 0, cm_create(PS_UDP, QPT_UD)),
            (CH_A, 0, hdr(CM_RESOLVE_ADDR, struct.pack("<II", H2, 100) +
                          cm_addr(family=0) + cm_addr(port=6000))),
            (CH_A, 0, hdr(CM_RESOLVE_ROUTE, struct.pack("<II", H2, 100))),
            (CH_A, 0, hdr(CM_CONNECT, struct.pack("<II", H2, 0) +
                          cm_conn(0))),
            ev(CH_B),
            (CH_B, 0, hdr(CM_ACCEPT, struct.pack("<II", H3, 0) +
                          cm_conn(QP_B_UD))),
            ev(CH_A), ev(CH_A), ev(CH_A)]
    write("fuzz_cm", "sidr", cm_input(sidr))
    write("fuzz_cm", "migrate", cm_input(
        active[:2] + [(CH_A2, 0, cm_id(CM_MIGRATE_ID, H1)), ev(CH_A2),
                      (CH_A2, 0, cm_id(CM_DESTROY_ID, H1))]))
    mcast = [(CH_A, 0, cm_create(PS_UDP, QPT_UD)),
             (CH_A, 0, hdr(CM_BIND, struct.pack("<II", H1, 0) +
                           cm_addr(port=7000))),
             (CH_A, 0, hdr(CM_JOIN_MCAST, struct.pack("<IIII", H1, 0, 7, 0)
                           + cm_addr((224, 1, 2, 3)))),
             ev(CH_A), (CH_A, 0, cm_id(CM_LEAVE_MCAST, H1))]
    write("fuzz_cm", "mcast", cm_input(mcast))
    write("fuzz_cm", "fabric", cm_input(
        listen + [(8, 1, cm_msg(1, QPT_RC, local=0x4200, sid=0x1061388,
                                qpn=0x77)),
                  ev(CH_B), (8, 1, cm_msg(5, local=0x4200, remote=H2)),
                  (8, 0, cm_msg(4, local=0x99, remote=0x300, qpn=5)),
                  (8, 1, cm_msg(6, local=0x4200, remote=H2)), ev(CH_B)]))


ctrl_seeds()
wqe_seeds()
hs_seeds()
xen_seeds()
cm_seeds()
