// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An MPI program that checks what it moves: ping-pongs between rank r and
 * rank r ^ (N / 2) of N (so with ranks laid out guest by guest, and host
 * by host, every pair crosses guests, and hosts when there are two) at
 * 8 B, 64 KiB and 1 MiB, each message filled with a pattern of (iteration,
 * sender, offset) and checked byte for byte on arrival; then an allreduce
 * and an alltoall whose results are known.  Built with either MPI's mpicc
 * (Open MPI's or MPICH's) by tests/mpi/test_mpi.sh.
 *
 * Usage: mpi_check ITERS [SIZE [MODE]]   (SIZE: only that size, 0: all)
 * MODE check (default): as above.  Rank 0 prints one line per size (half
 * round trip in us, MB/s) and "mpi_check: OK (N ranks)"; any mismatch
 * aborts the job with status 1.
 * MODE lat: the ping-pong without filling or checking (bench/mpi_bench.sh).
 * MODE bw: streaming, as osu_bw measures it: ITERS windows of 64
 * non-blocking sends of SIZE, each acknowledged by a 4-byte reply; rank 0
 * prints "mpi_check: bw SIZE B: X MB/s".  lat and bw run on 2 ranks.
 */
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char pattern(int iter, int from, size_t off)
{
	return (unsigned char)(iter * 31 + from * 7 + off * 13 + (off >> 12));
}

static void fill(unsigned char *b, size_t n, int iter, int from)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = pattern(iter, from, i);
}

static void check(const unsigned char *b, size_t n, int iter, int from,
		  int me)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != pattern(iter, from, i)) {
			fprintf(stderr, "mpi_check: rank %d: %zu-byte message "
				"%d from rank %d differs at byte %zu\n", me, n,
				iter, from, i);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
}

static bool checking = true;

/* ITERS round trips of n bytes with the partner; seconds per half trip. */
static double pingpong(unsigned char *sb, unsigned char *rb, size_t n,
		       int iters, int me, int peer)
{
	double t0;
	int it;

	MPI_Barrier(MPI_COMM_WORLD);
	t0 = MPI_Wtime();
	for (it = 0; it < iters; it++) {
		if (me < peer) {
			if (checking)
				fill(sb, n, it, me);
			MPI_Send(sb, (int)n, MPI_BYTE, peer, it,
				 MPI_COMM_WORLD);
			MPI_Recv(rb, (int)n, MPI_BYTE, peer, it, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			if (checking)
				check(rb, n, it, peer, me);
		} else {
			MPI_Recv(rb, (int)n, MPI_BYTE, peer, it, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			if (checking) {
				check(rb, n, it, peer, me);
				fill(sb, n, it, me);
			}
			MPI_Send(sb, (int)n, MPI_BYTE, peer, it,
				 MPI_COMM_WORLD);
		}
	}
	return (MPI_Wtime() - t0) / (2.0 * iters);
}

#define BW_WINDOW 64

/* Streaming bandwidth from rank 0 to rank 1, bytes per second. */
static double stream_bw(unsigned char *sb, unsigned char *rb, size_t n,
			int iters, int me)
{
	MPI_Request req[BW_WINDOW];
	MPI_Status st[BW_WINDOW];
	int it, w, ack = 0;
	double t0 = 0;

	for (it = -1; it < iters; it++) {	/* -1: warm-up window */
		if (it == 0) {
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = MPI_Wtime();
		}
		for (w = 0; w < BW_WINDOW; w++) {
			if (!me)
				MPI_Isend(sb, (int)n, MPI_BYTE, 1, w,
					  MPI_COMM_WORLD, &req[w]);
			else
				MPI_Irecv(rb, (int)n, MPI_BYTE, 0, w,
					  MPI_COMM_WORLD, &req[w]);
		}
		MPI_Waitall(BW_WINDOW, req, st);
		if (!me)
			MPI_Recv(&ack, 1, MPI_INT, 1, 999, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
		else
			MPI_Send(&ack, 1, MPI_INT, 0, 999, MPI_COMM_WORLD);
	}
	return (double)n * BW_WINDOW * iters / (MPI_Wtime() - t0);
}

static void collectives(int me, int size)
{
	long sum = 0, want = (long)size * (size - 1) / 2, mine = me;
	int *out = malloc(sizeof(int) * size), *in = malloc(sizeof(int) * size);
	int i;

	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	if (sum != want) {
		fprintf(stderr, "mpi_check: allreduce %ld, not %ld\n", sum,
			want);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	for (i = 0; i < size; i++)
		out[i] = me * 1000 + i;
	MPI_Alltoall(out, 1, MPI_INT, in, 1, MPI_INT, MPI_COMM_WORLD);
	for (i = 0; i < size; i++)
		if (in[i] != i * 1000 + me) {
			fprintf(stderr, "mpi_check: rank %d: alltoall from %d "
				"gave %d\n", me, i, in[i]);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
	free(out);
	free(in);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 8, 65536, 1u << 20 };
	unsigned char *sb, *rb;
	int me, size, iters, peer;
	size_t only = 0, i;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &me);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	iters = argc > 1 ? atoi(argv[1]) : 100;
	if (argc > 2)
		only = strtoul(argv[2], NULL, 0);
	if (argc > 3 && strcmp(argv[3], "check")) {
		bool bw = !strcmp(argv[3], "bw");

		if ((!bw && strcmp(argv[3], "lat")) || size != 2 || !only ||
		    only > (1u << 20)) {
			if (!me)
				fprintf(stderr, "mpi_check: MODE lat or bw, on "
					"2 ranks, with a SIZE up to 1 MiB\n");
			MPI_Abort(MPI_COMM_WORLD, 2);
		}
		checking = false;
		sb = calloc(1, 1u << 20);
		rb = calloc(1, 1u << 20);
		if (!sb || !rb)
			MPI_Abort(MPI_COMM_WORLD, 1);
		if (bw) {
			double r = stream_bw(sb, rb, only, iters, me);

			if (!me)
				printf("mpi_check: bw %zu B: %.1f MB/s\n",
				       only, r / 1e6);
		} else {
			double t = pingpong(sb, rb, only, iters, me, 1 - me);

			if (!me)
				printf("mpi_check: lat %zu B: %.3f us\n",
				       only, t * 1e6);
		}
		free(sb);
		free(rb);
		MPI_Finalize();
		return 0;
	}
	if (iters < 1 || size < 2 || (size & (size - 1))) {
		if (!me)
			fprintf(stderr, "usage: mpi_check ITERS [SIZE [MODE]], "
				"on a power of 2 of ranks\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	peer = me ^ (size / 2);
	sb = malloc(1u << 20);
	rb = malloc(1u << 20);
	if (!sb || !rb)
		MPI_Abort(MPI_COMM_WORLD, 1);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double t;

		if (only && sizes[i] != only)
			continue;
		t = pingpong(sb, rb, sizes[i], iters, me, peer);
		if (!me)
			printf("mpi_check: %zu B: %.2f us half round trip, "
			       "%.1f MB/s\n", sizes[i], t * 1e6,
			       sizes[i] / t / 1e6);
	}
	collectives(me, size);
	MPI_Barrier(MPI_COMM_WORLD);
	if (!me)
		printf("mpi_check: OK (%d ranks)\n", size);
	free(sb);
	free(rb);
	MPI_Finalize();
	return 0;
}
