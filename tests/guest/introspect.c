/* What a program knows about itself, for memorymap and the modules view to agree with:
   it renames itself with prctl(PR_SET_NAME), then prints its pid, tid and task name, and
   what dladdr says of one of its own functions and of libc's puts (the file and its load
   base), then calls both. Exits with status 5. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) int marker(int value)
{
    __asm__ volatile("" ::: "memory");
    return value * 3 + 1;
}

static int describe(const char *label, const void *address)
{
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (dladdr(address, &info) == 0 || info.dli_fname == NULL) {
        printf("%s address=%p dladdr=failed\n", label, address);
        return 1;
    }
    printf("%s address=%p fname=%s fbase=%p\n", label, address, info.dli_fname, info.dli_fbase);
    return 0;
}

int main(void)
{
    if (prctl(PR_SET_NAME, "introspected", 0, 0, 0) != 0) {
        perror("prctl(PR_SET_NAME)");
        return 1;
    }
    char name[32] = {0};
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("pid=%d tid=%ld name=%s\n", (int)getpid(), (long)syscall(SYS_gettid), name);
    describe("marker", (const void *)&marker);
    describe("puts", (const void *)&puts);
    fflush(stdout);
    int result = marker(7);
    puts("called puts");
    return result == 22 ? 5 : 1;
}
