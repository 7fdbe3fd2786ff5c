/* A SIGSEGV handler that skips the faulting instruction by moving REG_RIP in the ucontext
   (the instruction is a known 3-byte store), and changes REG_RAX too: rt_sigreturn must
   bring the program back with the handler's changes. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <ucontext.h>

static volatile int faults;

static void on_segv(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    ucontext_t *uc = context;
    faults++;
    printf("handler: si_addr %p, trap %lld\n", info->si_addr, (long long)uc->uc_mcontext.gregs[REG_TRAPNO]);
    uc->uc_mcontext.gregs[REG_RIP] += 3; /* movl %eax,(%rbx): 89 03 ... padded below */
    uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

int main(void)
{
    struct sigaction action = {0};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &action, NULL);

    long result;
    for (int i = 0; i < 3; i++) {
        /* a store through a bad pointer, 3 bytes long (89 03 90), then rax is read back */
        __asm__ volatile("mov $7, %%eax\n\t"
                         ".byte 0x89, 0x03, 0x90\n\t"
                         : "=a"(result)
                         : "b"((long)0x10 + i)
                         : "memory");
        printf("after fault %d: rax %ld\n", i, result);
    }
    double x = 1.5;
    for (int i = 0; i < 3; i++)
        x = x * 2.25 + 0.125;
    printf("faults %d, floating point still %.4f\n", faults, x);
    return 0;
}
