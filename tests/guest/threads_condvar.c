/* A producer and a consumer hand numbers over through a one-slot buffer guarded by a mutex and
   two condition variables; the consumer prints what it receives, in order. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t filled = PTHREAD_COND_INITIALIZER;
static pthread_cond_t emptied = PTHREAD_COND_INITIALIZER;
static int slot, full, done;

static void *produce(void *unused)
{
    (void)unused;
    for (int i = 1; i <= 200; i++) {
        pthread_mutex_lock(&lock);
        while (full)
            pthread_cond_wait(&emptied, &lock);
        slot = i * i % 1009;
        full = 1;
        pthread_cond_signal(&filled);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&filled);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consume(void *unused)
{
    (void)unused;
    long sum = 0;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!full && !done)
            pthread_cond_wait(&filled, &lock);
        if (!full && done) {
            pthread_mutex_unlock(&lock);
            break;
        }
        printf("got %d\n", slot);
        sum += slot;
        full = 0;
        pthread_cond_signal(&emptied);
        pthread_mutex_unlock(&lock);
    }
    printf("sum %ld\n", sum);
    return NULL;
}

int main(void)
{
    pthread_t producer, consumer;
    pthread_create(&consumer, NULL, consume, NULL);
    pthread_create(&producer, NULL, produce, NULL);
    pthread_join(producer, NULL);
    pthread_join(consumer, NULL);
    puts("done");
    return 0;
}
