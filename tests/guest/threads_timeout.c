/* Timed waits that nobody ends: a condition-variable wait while another thread computes, and one
   while every other thread is blocked. Both must time out; the worker's result shows it ran. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *compute(void *unused)
{
    (void)unused;
    unsigned long x = 1;
    for (int i = 0; i < 2000000; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return (void *)(x & 0xff);
}

static const char *timed_wait(long milliseconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += milliseconds * 1000000;
    deadline.tv_sec += deadline.tv_nsec / 1000000000;
    deadline.tv_nsec %= 1000000000;
    pthread_mutex_lock(&lock);
    int rc = pthread_cond_timedwait(&never, &lock, &deadline);
    pthread_mutex_unlock(&lock);
    return rc == ETIMEDOUT ? "timed out" : "woken";
}

int main(void)
{
    pthread_t worker;
    pthread_create(&worker, NULL, compute, NULL);
    printf("wait while a thread computes: %s\n", timed_wait(5));
    void *result;
    pthread_join(worker, &result);
    printf("worker returned %ld\n", (long)result);
    printf("wait with no other thread: %s\n", timed_wait(5));
    return 0;
}
