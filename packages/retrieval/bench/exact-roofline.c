/*
 * Reference point for the ANN bench's exact baseline (not product code, not built by npm):
 * how fast can an exact top-k over n × 64 f32 unit vectors go on this machine, one thread?
 *
 *   gcc -O3 -march=native -ffast-math -o /tmp/exact-roofline packages/retrieval/bench/exact-roofline.c -lm
 *   /tmp/exact-roofline 1000000 1000 30          # n, k, queries → p50 / min ms per query
 *
 * Hand-written on purpose: it is the simplest scan a compiler vectorises (dot products of a
 * 4096-row block into a buffer, then a bounded min-heap for the top k), to compare with usearch's
 * `exactSearch` (which the bench uses because it is what the library offers from JS). usearch
 * allocates a (key, distance) pair per item and query (16 MB per 1M-item query), transposes it and
 * partial-sorts the whole array; this scan touches only the vectors and a k-entry heap. On unit
 * vectors inner product equals cosine, so the top k is the same.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define D 64
#define BLOCK 4096

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sift_down(float *h, int *id, int k, int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < k && h[l] < h[m]) m = l;
    if (r < k && h[r] < h[m]) m = r;
    if (m == i) return;
    float t = h[i]; h[i] = h[m]; h[m] = t;
    int u = id[i]; id[i] = id[m]; id[m] = u;
    i = m;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s n k queries\n", argv[0]); return 2; }
  int n = atoi(argv[1]), k = atoi(argv[2]), nq = atoi(argv[3]);
  float *x = aligned_alloc(64, (size_t)n * D * sizeof(float));
  srand(1);
  for (size_t i = 0; i < (size_t)n * D; i++) x[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < n; i++) {
    float s = 0, *r = x + (size_t)i * D;
    for (int j = 0; j < D; j++) s += r[j] * r[j];
    s = 1 / sqrtf(s);
    for (int j = 0; j < D; j++) r[j] *= s;
  }
  float *score = aligned_alloc(64, BLOCK * sizeof(float));
  float *heap = malloc(k * sizeof(float));
  int *ids = malloc(k * sizeof(int));
  double *ms = malloc(nq * sizeof(double)), sink = 0;
  float q[D] __attribute__((aligned(64)));
  for (int qq = 0; qq < nq; qq++) {
    for (int j = 0; j < D; j++) q[j] = (float)rand() / RAND_MAX - 0.5f;
    double t = now_ms();
    int filled = 0;
    for (int b = 0; b < n; b += BLOCK) {
      int e = b + BLOCK < n ? b + BLOCK : n;
      for (int i = b; i < e; i++) {
        const float *r = x + (size_t)i * D;
        float s = 0;
        for (int j = 0; j < D; j++) s += r[j] * q[j];
        score[i - b] = s;
      }
      for (int i = b; i < e; i++) {
        float s = score[i - b];
        if (filled < k) {
          heap[filled] = s; ids[filled] = i; filled++;
          if (filled == k) for (int z = k / 2 - 1; z >= 0; z--) sift_down(heap, ids, k, z);
        } else if (s > heap[0]) {
          heap[0] = s; ids[0] = i;
          sift_down(heap, ids, k, 0);
        }
      }
    }
    ms[qq] = now_ms() - t;
    sink += heap[0];
  }
  qsort(ms, nq, sizeof(double), cmp_double);
  printf("exact top-%d over %d x %d f32, one thread: p50 %.2f ms, min %.2f ms (%d queries; checksum %g)\n", k, n, D, ms[nq / 2], ms[0], nq, sink);
  return 0;
}
