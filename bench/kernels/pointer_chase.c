/* Memory-latency kernel: a linked list threaded through a buffer in random order
   (one cycle over every node), followed for a fixed number of steps.
   Usage: pointer_chase NODES STEPS. Prints one checksum line, the same on every run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    uint64_t payload[7]; /* one node per 64-byte cache line */
};

static uint64_t state = 0x2545f4914f6cdd1du;

static uint64_t next_random(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(int argc, char **argv)
{
    long nodes = argc > 1 ? atol(argv[1]) : 65536;
    long steps = argc > 2 ? atol(argv[2]) : 10000000;
    if (nodes < 2 || steps < 1) {
        fprintf(stderr, "usage: pointer_chase NODES STEPS\n");
        return 2;
    }
    struct node *pool = malloc(sizeof(struct node) * nodes);
    long *order = malloc(sizeof(long) * nodes);
    if (!pool || !order) {
        fprintf(stderr, "pointer_chase: out of memory\n");
        return 1;
    }
    for (long i = 0; i < nodes; i++) {
        order[i] = i;
        pool[i].payload[0] = (uint64_t)i * 2654435761u;
    }
    for (long i = nodes - 1; i > 0; i--) { /* Fisher-Yates */
        long j = (long)(next_random() % (uint64_t)(i + 1));
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (long i = 0; i < nodes; i++)
        pool[order[i]].next = &pool[order[(i + 1) % nodes]];

    struct node *p = &pool[order[0]];
    uint64_t sum = 0;
    for (long s = 0; s < steps; s++) {
        sum += p->payload[0];
        p = p->next;
    }
    printf("pointer_chase nodes=%ld steps=%ld checksum=%016llx end=%ld\n",
           nodes, steps, (unsigned long long)sum, (long)(p - pool));
    free(order);
    free(pool);
    return 0;
}
