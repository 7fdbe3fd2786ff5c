/* Four threads add to one global counter under a mutex, K times each. Prints the total and
   the counter's address, so that a memory query can look at every write to it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { Threads = 4 };

static long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long increments = 1000;

static void *work(void *unused)
{
    (void)unused;
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
        if (pthread_create(&threads[i], NULL, work, NULL) != 0)
            return 1;
    for (int i = 0; i < Threads; i++)
        pthread_join(threads[i], NULL);
    printf("total %ld\n", counter);
    printf("counter at %p\n", (void *)&counter);
    return counter == Threads * increments ? 0 : 2;
}
