/* Time and randomness: only facts that hold on every run are printed. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

static long long ns(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(void)
{
    struct timespec a, b;
    if (clock_gettime(CLOCK_MONOTONIC, &a) != 0 || clock_gettime(CLOCK_MONOTONIC, &b) != 0) {
        perror("clock_gettime");
        return 1;
    }
    volatile unsigned long spin = 0;
    for (int i = 0; i < 1000000; i++)
        spin += (unsigned long)i;
    struct timespec c;
    clock_gettime(CLOCK_MONOTONIC, &c);
    printf("monotonic never goes back: %s\n", ns(&b) >= ns(&a) && ns(&c) >= ns(&b) ? "ok" : "FAIL");
    printf("monotonic advances over a loop: %s\n", ns(&c) > ns(&a) ? "ok" : "FAIL");

    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    printf("realtime after 2020: %s\n", real.tv_sec > 1577836800 ? "ok" : "FAIL");

    struct timeval tv;
    if (gettimeofday(&tv, NULL) != 0) {
        perror("gettimeofday");
        return 1;
    }
    long long diff = (long long)tv.tv_sec - (long long)real.tv_sec;
    printf("gettimeofday sane: %s\n",
           tv.tv_usec >= 0 && tv.tv_usec < 1000000 && diff >= 0 && diff < 60 ? "ok" : "FAIL");
    time_t now = time(NULL);
    /* time() reads the kernel's coarse clock, which may still show the second before. */
    printf("time() agrees: %s\n", now >= real.tv_sec - 1 && now - real.tv_sec < 60 ? "ok" : "FAIL");

    unsigned char r1[16], r2[16];
    memset(r1, 0, sizeof r1);
    memset(r2, 0, sizeof r2);
    ssize_t n1 = getrandom(r1, sizeof r1, 0);
    ssize_t n2 = getrandom(r2, sizeof r2, 0);
    printf("getrandom returns 16 bytes: %s\n", n1 == 16 && n2 == 16 ? "ok" : "FAIL");
    printf("two getrandom calls differ: %s\n", memcmp(r1, r2, sizeof r1) != 0 ? "ok" : "FAIL");
    return 0;
}
