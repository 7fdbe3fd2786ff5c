/* The main thread ends with pthread_exit while a worker goes on: the process lives until the
   worker ends, and exits with status 0 as Linux gives when the last thread calls exit. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_t main_thread;

static void *outlive_main(void *unused)
{
    (void)unused;
    /* Joining the main thread waits until it has ended. */
    pthread_join(main_thread, NULL);
    unsigned long x = 7;
    for (int i = 0; i < 100000; i++)
        x = x * 2862933555777941757UL + 3037000493UL;
    printf("worker outlived main: %lu\n", x % 1000);
    fflush(stdout);
    return NULL;
}

int main(void)
{
    main_thread = pthread_self();
    pthread_t worker;
    pthread_create(&worker, NULL, outlive_main, NULL);
    puts("main ends first");
    fflush(stdout);
    pthread_exit(NULL);
}
