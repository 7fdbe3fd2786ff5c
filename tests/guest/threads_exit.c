/* One thread ends early with pthread_exit while another keeps working; main joins both and
   prints what they returned. The early thread's tid may be reused by a later thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>

static volatile int keep_going = 1;

static void *short_lived(void *unused)
{
    (void)unused;
    pthread_exit((void *)(intptr_t)7);
}

static void *long_lived(void *unused)
{
    (void)unused;
    unsigned long x = 1;
    for (int i = 0; i < 300000; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return (void *)(intptr_t)(x & 0xffff);
}

static void *last(void *unused)
{
    (void)unused;
    return (void *)(intptr_t)42;
}

int main(void)
{
    pthread_t a, b, c;
    void *ra, *rb, *rc;
    pthread_create(&b, NULL, long_lived, NULL);
    pthread_create(&a, NULL, short_lived, NULL);
    pthread_join(a, &ra);
    printf("short-lived thread returned %ld\n", (long)(intptr_t)ra);
    pthread_create(&c, NULL, last, NULL);
    pthread_join(c, &rc);
    pthread_join(b, &rb);
    printf("long-lived thread returned %ld\n", (long)(intptr_t)rb);
    printf("last thread returned %ld\n", (long)(intptr_t)rc);
    return 0;
}
