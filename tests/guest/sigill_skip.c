/* ud2 raises SIGILL with ILL_ILLOPN and si_addr at the instruction; the handler skips it by
   moving REG_RIP past its two bytes, and the program carries on. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <ucontext.h>

static void on_ill(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    ucontext_t *uc = context;
    printf("SIGILL: si_code %d (ILL_ILLOPN %d), si_addr is the pc %d, trap %lld\n", info->si_code, ILL_ILLOPN,
           (long long)info->si_addr == uc->uc_mcontext.gregs[REG_RIP], (long long)uc->uc_mcontext.gregs[REG_TRAPNO]);
    uc->uc_mcontext.gregs[REG_RIP] += 2;
}

int main(void)
{
    struct sigaction action = {0};
    action.sa_sigaction = on_ill;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &action, NULL);
    __asm__ volatile("ud2");
    __asm__ volatile("ud2");
    printf("past two ud2\n");
    return 0;
}
