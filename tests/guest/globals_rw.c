/* Ground truth for memory queries: reads and writes the fields of one global in a known order,
   logs every access (kind, offset in the global, size, value) in a local array, and prints the
   log after the global's address, the address and first bytes of a function it calls, and how
   many times it called it. The printing reads the log, never the global. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

struct area {
    uint64_t q;     /* offset 0 */
    uint32_t d;     /* offset 8 */
    uint16_t w;     /* offset 12 */
    uint8_t b;      /* offset 14 */
    uint8_t pad;    /* offset 15 */
    uint64_t next;  /* offset 16: right after q..pad, for "end is exclusive" */
    uint64_t same;  /* offset 24: written with the same value twice, for 'c' */
};

volatile struct area area __attribute__((aligned(64)));

struct entry {
    char kind;
    unsigned offset, size;
    uint64_t value;
};

static struct entry entries[64];
static int count;

#define NOTE(kind_, field, value_) \
    (entries[count++] = (struct entry){kind_, (unsigned)((uintptr_t)&area.field - (uintptr_t)&area), sizeof area.field, (uint64_t)(value_)})
#define WRITE(field, value_) (area.field = (value_), NOTE('W', field, area_last = (value_)))
#define READ(field) (area_last = area.field, NOTE('R', field, area_last), area_last)

static uint64_t area_last;

__attribute__((noinline)) int marker(int x)
{
    return x * 3 + 1;
}

/* One instruction that reads its own first four bytes (movl .-0(%rip), %eax: 8b 05 fa ff ff ff),
   for a query over code with execute and read in its mask. */
__asm__(".text\n"
        ".globl self_read\n"
        ".type self_read, @function\n"
        "self_read:\n"
        ".Lself_read:\n"
        "    movl .Lself_read(%rip), %eax\n"
        "    ret\n"
        ".size self_read, . - self_read\n");
unsigned self_read(void);

int main(void)
{
    int (*volatile call)(int) = marker;
    int calls = 0, sum = 0;

    WRITE(q, 0x1122334455667788ULL);
    READ(q);
    WRITE(d, 0xdeadbeefU);
    WRITE(w, 0xbeefU);
    WRITE(b, 0x5aU);
    READ(d);
    READ(w);
    READ(b);
    for (uint64_t i = 0; i < 5; i++) {
        uint64_t v = READ(q);
        WRITE(q, v + i * 3);
        sum += call((int)i);
        calls++;
    }
    WRITE(next, 0x77U);
    /* One 8-byte store over d, w, b and pad: it straddles the start of a range that begins at w. */
    *(volatile uint64_t *)&area.d = 0x0102030405060708ULL;
    entries[count++] = (struct entry){'W', 8, 8, 0x0102030405060708ULL};
    READ(w);
    WRITE(same, 5);
    WRITE(same, 5);
    WRITE(same, 6);

    printf("area %p\n", (void *)&area);
    const unsigned char *code = (const unsigned char *)(uintptr_t)marker;
    printf("marker %p ", (void *)(uintptr_t)marker);
    for (int i = 0; i < 16; i++)
        printf("%02x", code[i]);
    printf("\ncalls %d sum %d\n", calls, sum);
    printf("self_read %p 0x%x\n", (void *)(uintptr_t)self_read, self_read());
    for (int i = 0; i < count; i++)
        printf("access %c %u %u 0x%" PRIx64 "\n", entries[i].kind, entries[i].offset, entries[i].size, entries[i].value);
    return 0;
}
