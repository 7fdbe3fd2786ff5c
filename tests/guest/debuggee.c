/* A program to debug: a global that a loop writes five times (1, 3, 6, 10, 15), three nested
   calls for a backtrace, functions that return a long double (st0) and a double (xmm0). It
   prints the global's address and every value it stores, so that a debugger's watchpoints can
   be checked against it. */
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

__attribute__((noinline)) long double twice_wide(long double x)
{
    return x * 2; /* returned in st0 */
}

__attribute__((noinline)) double twice_narrow(double x)
{
    return x * 2; /* returned in xmm0 */
}

int main(void)
{
    printf("counter %p\n", (void *)&counter);
    for (long i = 1; i <= 5; i++) {
        counter += i;
        printf("store %ld\n", counter);
    }
    long result = outer(counter);
    long double wide = twice_wide(1.5L);
    double narrow = twice_narrow(2.25);
    printf("result %ld %.2Lf %.2f\n", result, wide, narrow);
    return 0;
}
