/* A program whose instructions can be counted by hand: no C library, and _start is
   written in assembly so that the compiler cannot change it (built with -nostdlib
   -static like nostdlib.c). It runs exactly 18 instructions:

   _start: xor %ecx, %ecx                1
           call step                     1   step: inc %ecx; ret   2
           call step                     1   step again            2
           cmp $2, %ecx                  1
           jne fail                      1   not taken
           je done                       1   taken
   fail:   hlt                               never runs
   done:   mov $1, %eax                  1   write(1, "count\n", 6)
           mov $1, %edi                  1
           lea message(%rip), %rsi       1
           mov $6, %edx                  1
           syscall                       1
           mov $60, %eax                 1   exit(3)
           mov $3, %edi                  1
           syscall                       1
                                        --
                                        18

   valgrind --tool=lackey reports the same number as "guest instrs". No backward
   loop: valgrind's loop unrolling makes lackey miscount some loops. */

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "    xor %ecx, %ecx\n"
        "    call step\n"
        "    call step\n"
        "    cmp $2, %ecx\n"
        "    jne fail\n"
        "    je done\n"
        "fail:\n"
        "    hlt\n"
        "done:\n"
        "    mov $1, %eax\n"
        "    mov $1, %edi\n"
        "    lea message(%rip), %rsi\n"
        "    mov $6, %edx\n"
        "    syscall\n"
        "    mov $60, %eax\n"
        "    mov $3, %edi\n"
        "    syscall\n"
        "step:\n"
        "    inc %ecx\n"
        "    ret\n"
        "    .section .rodata\n"
        "message:\n"
        "    .ascii \"count\\n\"\n"
        "    .text\n");
