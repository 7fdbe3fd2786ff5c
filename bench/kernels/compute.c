/* Integer and floating-point compute: a dense matrix multiply followed by FNV-1a
   hashing of the result. Usage: compute N [ROUNDS] (matrix order; the product is added
   ROUNDS times, default 1, for longer runs in the same memory). Prints one checksum
   line, the same on every run and every machine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x9e3779b97f4a7c15u;

/* Rows of the product done so far: a global written all through the run, for memory queries
   that find accesses everywhere in a trace (volatile: one store per row, as written). */
volatile long rows_done;

static double next_value(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state % 1000) / 1000.0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300;
    int rounds = argc > 2 ? atoi(argv[2]) : 1;
    if (n <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: compute N [ROUNDS]\n");
        return 2;
    }
    double *a = malloc(sizeof(double) * n * n);
    double *b = malloc(sizeof(double) * n * n);
    double *c = calloc((size_t)n * n, sizeof(double));
    if (!a || !b || !c) {
        fprintf(stderr, "compute: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n * n; i++) {
        a[i] = next_value();
        b[i] = next_value();
    }
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k];
                for (int j = 0; j < n; j++)
                    c[i * n + j] += aik * b[k * n + j];
            }
            rows_done = (long)round * n + i + 1;
        }

    uint64_t hash = 0xcbf29ce484222325u;
    for (int round = 0; round < 8; round++)
        for (int i = 0; i < n * n; i++) {
            uint64_t bits = (uint64_t)(c[i] * 1000.0);
            for (int byte = 0; byte < 8; byte++) {
                hash ^= (bits >> (8 * byte)) & 0xff;
                hash *= 0x100000001b3u;
            }
        }
    printf("compute n=%d rows=%ld checksum=%016llx\n", n, rows_done, (unsigned long long)hash);
    free(a);
    free(b);
    free(c);
    return 0;
}
