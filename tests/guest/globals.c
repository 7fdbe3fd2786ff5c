/* Stores known values into two globals of different sizes, alternating, and prints the
   globals' addresses and every value stored: a replay's memory-write callback must see
   exactly these stores, in this order. The printing reads a local copy, not the globals. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#define COUNT 16

volatile uint64_t wide;
volatile uint16_t narrow;

int main(void)
{
    uint64_t wide_values[COUNT];
    uint16_t narrow_values[COUNT];
    printf("wide %p\n", (void *)(uintptr_t)&wide);
    printf("narrow %p\n", (void *)(uintptr_t)&narrow);
    for (int i = 0; i < COUNT; i++) {
        /* high bits set in both, so that a value sign-extended or cut short shows */
        wide_values[i] = 0x8123456789abcdefULL * (uint64_t)(i + 1) ^ ((uint64_t)i << 60);
        narrow_values[i] = (uint16_t)(0x8001 + 0x1111 * i);
        wide = wide_values[i];
        narrow = narrow_values[i];
    }
    for (int i = 0; i < COUNT; i++)
        printf("store %d: wide 0x%" PRIx64 " narrow 0x%" PRIx16 "\n", i, wide_values[i], narrow_values[i]);
    return 0;
}
