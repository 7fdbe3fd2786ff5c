/* No C library at all: raw syscall instructions from _start. Built with
   -nostdlib -static, so the first instruction the guest runs is ours. */
static long sys3(long number, long a, long b, long c)
{
    long result;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return result;
}

void _start(void)
{
    static const char message[] = "hello from nostdlib\n";
    sys3(1, 1, (long)message, sizeof message - 1); /* write(1, message, length) */
    sys3(60, 7, 0, 0);                             /* exit(7) */
    for (;;) {
    }
}
