/* Two threads each hold one mutex and wait for the other's: natively this hangs forever. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_locked;

static void *take_second_then_first(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&second);
    pthread_barrier_wait(&both_locked);
    pthread_mutex_lock(&first);
    return NULL;
}

int main(void)
{
    pthread_t other;
    pthread_barrier_init(&both_locked, NULL, 2);
    pthread_mutex_lock(&first);
    pthread_create(&other, NULL, take_second_then_first, NULL);
    pthread_barrier_wait(&both_locked);
    puts("both locked");
    fflush(stdout);
    pthread_mutex_lock(&second);
    puts("not reached");
    return 0;
}
