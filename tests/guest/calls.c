/* Calls functions that are never inlined a known number of times with known arguments, and
   prints each call as it returns ("call NAME ARGS -> RESULT", innermost first), so that a
   query of the calls can be checked against the program's own account: count, parameters,
   return values and nesting. Then allocates and frees known sizes and prints each
   ("malloc SIZE -> ADDRESS", "free ADDRESS", ...), leaving two blocks allocated on purpose.
   A call that never returns (longjmp out of it) is printed as "unwound NAME". The first line
   is the run-time address of add3, for checking symbol addresses against nm. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf escape;

__attribute__((noinline)) long add3(long a, long b, long c)
{
    long result = a + b * 2 + c * 3;
    printf("call add3 %ld %ld %ld -> %ld\n", a, b, c, result);
    return result;
}

__attribute__((noinline)) unsigned long fib(unsigned long n)
{
    unsigned long result = n < 2 ? n : fib(n - 1) + fib(n - 2);
    printf("call fib %lu -> %lu\n", n, result);
    return result;
}

__attribute__((noinline)) long seven(long a, long b, long c, long d, long e, long f, long g)
{
    long result = a ^ b ^ c ^ d ^ e ^ f ^ (g << 8);
    printf("call seven %ld %ld %ld %ld %ld %ld %ld -> %ld\n", a, b, c, d, e, f, g, result);
    return result;
}

__attribute__((noinline)) void leave_by_longjmp(int code)
{
    printf("unwound leave_by_longjmp\n");
    fflush(stdout);
    longjmp(escape, code);
}

/* The longjmp lands in main, two frames up: neither frame is returned to. */
__attribute__((noinline)) void escape_through(int code)
{
    leave_by_longjmp(code);
    printf("not reached\n");
}

int main(int argc, char **argv)
{
    (void)argv;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("add3 %p\n", (void *)add3);
    for (long i = 0; i < 5; i++)
        add3(i, i + argc, 100 - i);
    fib(4);
    seven(1, 2, 3, 4, 5, 6, 7);
    if (setjmp(escape) == 0)
        escape_through(3);

    size_t sizes[] = {24, 100, 4000, 65536, 200000};
    void *blocks[5];
    for (int i = 0; i < 5; i++) {
        blocks[i] = malloc(sizes[i]);
        memset(blocks[i], i, sizes[i]);
        printf("malloc %zu -> %p\n", sizes[i], blocks[i]);
    }
    void *zeroed = calloc(10, 12);
    printf("calloc 10 12 -> %p\n", zeroed);
    void *grown = realloc(blocks[1], 5000);
    printf("realloc %p 5000 -> %p\n", blocks[1], grown);
    blocks[1] = grown;
    void *aligned = NULL;
    if (posix_memalign(&aligned, 256, 1000) == 0)
        printf("posix_memalign 256 1000 -> %p\n", aligned);
    for (int i = 0; i < 4; i++) {
        printf("free %p\n", blocks[i]);
        free(blocks[i]);
    }
    printf("free %p\n", aligned);
    free(aligned);
    /* left allocated: blocks[4] (200000 bytes) and zeroed (120 bytes) */
    printf("leak %p 200000\n", blocks[4]);
    printf("leak %p 120\n", zeroed);
    return 0;
}
