/* A handler with SA_ONSTACK runs on the alternate stack: the address of one of its locals lies
   inside it, sigaltstack reports SS_ONSTACK there, and the stack is 16-byte aligned as the ABI
   wants at a call (rsp+8 a multiple of 16 at entry). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static char *stack_base;
static size_t stack_size;
static volatile int inside, on_stack_flag, aligned;

static void __attribute__((noinline)) on_usr1(int sig)
{
    (void)sig;
    volatile char local;
    inside = (char *)&local >= stack_base && (char *)&local < stack_base + stack_size;
    stack_t now;
    sigaltstack(NULL, &now);
    on_stack_flag = (now.ss_flags & SS_ONSTACK) != 0;
    aligned = ((uintptr_t)__builtin_frame_address(0) & 15) == 0;
}

int main(void)
{
    stack_size = 64 * 1024;
    stack_base = malloc(stack_size);
    stack_t alt = {.ss_sp = stack_base, .ss_size = stack_size, .ss_flags = 0};
    sigaltstack(&alt, NULL);

    struct sigaction action = {0};
    action.sa_handler = on_usr1;
    action.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    printf("on the alternate stack: %d, SS_ONSTACK inside: %d, frame aligned: %d\n", inside, on_stack_flag, aligned);

    stack_t after;
    sigaltstack(NULL, &after);
    printf("after the handler: SS_ONSTACK %d, same stack %d\n", (after.ss_flags & SS_ONSTACK) != 0, after.ss_sp == stack_base);

    action.sa_flags = 0;
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    printf("without SA_ONSTACK: on the alternate stack %d\n", inside);
    return 0;
}
