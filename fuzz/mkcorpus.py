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


# fuzz_wqe steps (side bit 7): write_sq 0, write_rq 1, sq prod 2, rq prod 3,
# cq cons 4, arm 5, run 6, destroy qp 8, release 9, modify 10, page 11.
def sge(off, length, key=0):
    # pick_addr: k=0 -> IOVA + u16; pick_key: k (0 own, 1 peer)
    return struct.pack("<BHHB", 0, off, length, key)


def sq_wqe(opcode, flags, nsge, raddr_off=0, rkey=1, sges=(), inline=0):
    b = struct.pack("<BBBBBIBBB", 0, 0, 7, opcode, flags, 0x12345678, nsge,
                    0, inline)
    b += struct.pack("<BH", 0, raddr_off) + bytes([rkey])
    b += struct.pack("<QQ", 1, 2)
    s = list(sges) + [sge(0, 0)] * (4 - len(sges))
    return bytes([0]) + b + b"".join(s)


def rq_wqe(nsge, sges):
    s = list(sges) + [sge(0, 0)] * (4 - len(sges))
    return bytes([0x81, 0, 0, 9, nsge]) + b"".join(s)


def wqe_seeds():
    post = bytes([0x83, 1]) + rq_wqe(1, [sge(1024, 256)])
    send = sq_wqe(2, 2, 1, sges=[sge(0, 64)]) + bytes([2, 1, 6, 0, 0x86, 0])
    reap = bytes([4, 8, 0x84, 8])
    write("fuzz_wqe", "send-recv", bytes([0]) + post + send + reap)
    write("fuzz_wqe", "rdma-write", bytes([0]) + sq_wqe(
        0, 2, 2, raddr_off=4096, sges=[sge(0, 64), sge(128, 64)]) +
        bytes([2, 1, 6, 0]) + reap)
    write("fuzz_wqe", "rdma-read", bytes([0]) + sq_wqe(
        4, 2, 1, raddr_off=4096, sges=[sge(0, 512)]) + bytes([2, 1, 6, 0]))
    write("fuzz_wqe", "atomic", bytes([0]) + sq_wqe(
        5, 2, 1, raddr_off=8, sges=[sge(64, 8)]) + bytes([2, 1, 6, 0]) +
        sq_wqe(6, 2, 1, raddr_off=16, sges=[sge(72, 8)]) +
        bytes([2, 1, 6, 0]))
    write("fuzz_wqe", "inline-armed", bytes([0]) + bytes([0x85, 1]) + post +
          sq_wqe(3, 2 | 4 | 8, 0, inline=32) + bytes([2, 1, 6, 0]))
    write("fuzz_wqe", "rnr-retry", bytes([0x21]) + send +
          bytes([6, 0x80, 0, 0, 0, 1]) + bytes([6, 0x80, 0, 0, 0, 0x10]))
    write("fuzz_wqe", "destroy-in-flight", bytes([0]) + post + send[:-4] +
          bytes([8, 0x88, 6, 0]))
    write("fuzz_wqe", "bad-index", bytes([0]) + bytes([2, 0x80, 0, 0, 1, 0,
                                                       6, 0]))


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


ctrl_seeds()
wqe_seeds()
hs_seeds()
xen_seeds()
