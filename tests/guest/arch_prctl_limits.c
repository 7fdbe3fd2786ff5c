/* arch_prctl: ARCH_SET_FS and ARCH_SET_GS take canonical user addresses only (EPERM otherwise);
   ARCH_GET_FS reads back what was set; an unknown code is EINVAL. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void try(const char *what, int code, unsigned long address)
{
    long result = syscall(SYS_arch_prctl, code, address);
    printf("%s: %ld %s\n", what, result, result ? strerrorname_np(errno) : "");
}

int main(void)
{
    unsigned long fs = 0, gs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
    try("set fs non-canonical", ARCH_SET_FS, 0x800000000000UL);
    try("set fs kernel half", ARCH_SET_FS, 0xffff800000000000UL);
    try("set gs non-canonical", ARCH_SET_GS, 0x0123456789abcdefUL);
    try("set gs to the last user page", ARCH_SET_GS, 0x7fffffffe000UL);
    syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
    printf("gs reads back: %d\n", gs == 0x7fffffffe000UL);
    unsigned long now = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &now);
    printf("fs unchanged: %d\n", now == fs);
    try("unknown code", 0x1999, 0);
    return 0;
}
