/* Dies of SIGSEGV at a known instruction and address, and prints both first: the trace
   must end with that signal, that pc and that address. The store is written in assembly
   under a global label, so that the program can print the exact address of the
   instruction that faults. */
#include <stdint.h>
#include <stdio.h>

/* Below the lowest address Linux lets a program map (vm.mmap_min_addr), so never mapped;
   odd, so that a reported address rounded to a page or a word does not match. */
#define BAD_ADDRESS 0x8badUL

extern const char crash_instruction[];

__attribute__((noinline, noclone)) static void crash(volatile char *where)
{
    __asm__ volatile(".globl crash_instruction\n"
                     "crash_instruction:\n\t"
                     "movb $1, (%0)"
                     :
                     : "r"(where)
                     : "memory");
}

int main(void)
{
    printf("crash instruction %p\n", (const void *)crash_instruction);
    printf("bad address %p\n", (void *)BAD_ADDRESS);
    fflush(stdout);
    crash((volatile char *)BAD_ADDRESS);
    printf("survived\n");
    return 0;
}
