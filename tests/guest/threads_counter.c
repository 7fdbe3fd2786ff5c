/* Four threads add to one global counter under a mutex, K times each (K = argv[1], default
   1000). Prints the total, the counter's address and each thread's tid, so that a memory query
   can check every write to the counter and which thread made it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { Threads = 4 };

static long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long increments = 1000;
static pid_t tids[Threads];

static void *work(void *slot)
{
    *(pid_t *)slot = gettid();
    for (long i = 0; i < increments; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        increments = atol(argv[1]);
    pthread_t threads[Threads];
    for (int i = 0; i < Threads; i++)
        if (pthread_create(&threads[i], NULL, work, &tids[i]) != 0)
            return 1;
    for (int i = 0; i < Threads; i++)
        pthread_join(threads[i], NULL);
    printf("total %ld\n", counter);
    printf("counter at %p\n", (void *)&counter);
    for (int i = 0; i < Threads; i++)
        printf("thread %d tid %d\n", i, (int)tids[i]);
    return counter == Threads * increments ? 0 : 2;
}
