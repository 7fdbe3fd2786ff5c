/* A program to debug: a global that a loop writes five times (1, 3, 6, 10, 15), three nested
   calls for a backtrace, a long double and a double in registers. It prints the global's
   address and every value it stores, so a debugger's watchpoints can be checked against it. */
#include <stdio.h>

volatile long counter;
volatile long readings;

__attribute__((noinline)) static long innermost(long x)
{
    readings += counter; /* reads counter */
    return x * 3;
}

__attribute__((noinline)) long middle(long x)
{
    return innermost(x + 1) + 1;
}

__attribute__((noinline)) long outer(long x)
{
    return middle(x * 2) * 2;
}

int main(void)
{
    printf("counter %p\n", (void *)&counter);
    for (long i = 1; i <= 5; i++) {
        counter += i;
        printf("store %ld\n", counter);
    }
    long result = outer(counter);
    volatile long double wide = 1.5L;
    volatile double narrow = 2.25;
    printf("result %ld %.2Lf %.2f\n", result, wide * 2, narrow * 2);
    return 0;
}
