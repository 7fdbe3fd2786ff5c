/* The compute kernel's matrix multiply, split over threads: the rows of the product of two
   N x N matrices are divided into THREADS contiguous blocks, one per worker thread. Usage:
   threads_compute THREADS N. The main thread only starts the workers and joins them, also
   when THREADS is 1, so that runs with different THREADS do the same work on the same code
   path and differ only in how many threads share it. Workers write nothing shared in the
   hot loop: each builds a row in its own buffer and stores one hash per row. Prints one
   checksum line, the same for every THREADS, on every run and every machine. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x9e3779b97f4a7c15u;

static int n;
static const double *a, *b;
/* One FNV-1a hash per row of the product, each written once by the worker that owns the row. */
static uint64_t *row_hashes;

struct worker {
    pthread_t thread;
    int first_row, end_row;
    double *row;
};

static double next_value(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state % 1000) / 1000.0;
}

static void *work(void *argument)
{
    struct worker *self = argument;
    double *c = self->row;
    for (int i = self->first_row; i < self->end_row; i++) {
        for (int j = 0; j < n; j++)
            c[j] = 0;
        for (int k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (int j = 0; j < n; j++)
                c[j] += aik * b[k * n + j];
        }
        uint64_t hash = 0xcbf29ce484222325u;
        for (int j = 0; j < n; j++) {
            uint64_t bits = (uint64_t)(c[j] * 1000.0);
            for (int byte = 0; byte < 8; byte++) {
                hash ^= (bits >> (8 * byte)) & 0xff;
                hash *= 0x100000001b3u;
            }
        }
        row_hashes[i] = hash;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    n = argc > 2 ? atoi(argv[2]) : 300;
    if (threads <= 0 || n <= 0 || threads > n) {
        fprintf(stderr, "usage: threads_compute THREADS N (1 <= THREADS <= N)\n");
        return 2;
    }
    double *matrices = malloc(sizeof(double) * 2 * n * n);
    row_hashes = malloc(sizeof(uint64_t) * n);
    struct worker *workers = calloc(threads, sizeof(struct worker));
    if (!matrices || !row_hashes || !workers) {
        fprintf(stderr, "threads_compute: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n * n; i++) {
        matrices[i] = next_value();
        matrices[n * n + i] = next_value();
    }
    a = matrices;
    b = matrices + n * n;

    for (int t = 0; t < threads; t++) {
        workers[t].first_row = (int)((long)n * t / threads);
        workers[t].end_row = (int)((long)n * (t + 1) / threads);
        workers[t].row = malloc(sizeof(double) * n);
        if (!workers[t].row || pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
            fprintf(stderr, "threads_compute: cannot start thread %d\n", t);
            return 1;
        }
    }
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].thread, NULL);
        free(workers[t].row);
    }

    uint64_t checksum = 0xcbf29ce484222325u;
    for (int i = 0; i < n; i++) {
        checksum ^= row_hashes[i];
        checksum *= 0x100000001b3u;
    }
    printf("threads_compute n=%d checksum=%016llx\n", n, (unsigned long long)checksum);
    free(workers);
    free(row_hashes);
    free(matrices);
    return 0;
}
