/* brk(2) at its edges: brk(-1) and brk(0) return the current break; a break 16 TB away (past
   the end of the address space) fails at once and leaves the break where it was; a modest move
   works and the memory is usable. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    uintptr_t start = (uintptr_t)syscall(SYS_brk, 0);
    printf("brk(-1) is the break: %d\n", (uintptr_t)syscall(SYS_brk, (uintptr_t)-1) == start);
    printf("brk(1) is the break: %d\n", (uintptr_t)syscall(SYS_brk, 1) == start);
    uintptr_t far = start + (16ULL << 40);
    printf("brk(+16 TB) moved it: %d\n", (uintptr_t)syscall(SYS_brk, far) != start);
    printf("break unchanged: %d\n", (uintptr_t)syscall(SYS_brk, 0) == start);
    uintptr_t top = (uintptr_t)syscall(SYS_brk, start + (64 << 20));
    printf("brk(+64 MB) moved it: %d\n", top == start + (64 << 20));
    volatile char *last = (char *)top - 1;
    *last = 42;
    printf("last byte holds %d\n", *last);
    printf("shrunk back: %d\n", (uintptr_t)syscall(SYS_brk, start) == start);
    return 0;
}
