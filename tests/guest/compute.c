/* Plain computation: read a file of numbers (argv[1]) into malloc'd memory, sort it
   with qsort, and print statistics with floating-point formatting and a checksum.
   Only correctly rounded operations are used (+ - * /, sqrt, fma, rounding, x87 long
   double, printf and strtod): glibc's sin, exp, pow... pick an FMA or a plain SSE
   version by CPUID, and the two can differ in the last bit, while Rewind reports a
   CPU without AVX/FMA. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static uint64_t fnv1a(const unsigned char *data, size_t length)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < length; i++) {
        hash ^= data[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: compute FILE\n");
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (file == NULL) {
        perror(argv[1]);
        return 2;
    }
    size_t capacity = 1024, length = 0;
    char *text = malloc(capacity);
    size_t n;
    while (text != NULL && (n = fread(text + length, 1, capacity - length - 1, file)) > 0) {
        length += n;
        if (capacity - length < 2) {
            capacity *= 2;
            text = realloc(text, capacity);
        }
    }
    fclose(file);
    if (text == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    text[length] = 0;
    printf("bytes=%zu fnv1a=%016llx\n", length, (unsigned long long)fnv1a((unsigned char *)text, length));

    size_t count = 0, room = 16;
    long *values = malloc(room * sizeof *values);
    for (char *p = text, *end; values != NULL; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (count == room) {
            room *= 2;
            values = realloc(values, room * sizeof *values);
            if (values == NULL)
                break;
        }
        values[count++] = v;
    }
    if (values == NULL || count == 0) {
        fprintf(stderr, "no numbers\n");
        return 1;
    }
    qsort(values, count, sizeof *values, compare_long);

    double sum = 0, squares = 0, fused = 0, rounded = 0, remainders = 0;
    long double exact = 0;
    for (size_t i = 0; i < count; i++) {
        double v = (double)values[i];
        sum += v;
        squares += v * v;
        fused = fma(v / 3.0, 1.0 / 7.0, fused);
        rounded += rint(v / 7.0) + floor(v / 3.0) + ceil(v / 11.0) + trunc(v / 13.0);
        remainders += fmod(v, 17.5) + sqrt(fabs(v) + 0.5);
        exact += (long double)v / 7.0L;
    }
    double mean = sum / (double)count;
    double deviation = sqrt(squares / (double)count - mean * mean);
    printf("count=%zu min=%ld max=%ld median=%ld\n", count, values[0], values[count - 1], values[count / 2]);
    printf("first:");
    for (size_t i = 0; i < count && i < 8; i++)
        printf(" %ld", values[i]);
    printf("\n");
    printf("sum=%f mean=%f deviation=%f\n", sum, mean, deviation);
    printf("fused=%.17g rounded=%.1f remainders=%.10e\n", fused, rounded, remainders);
    printf("long double sum/7=%.6Lf\n", exact);
    int exponent;
    double mantissa = frexp(sum, &exponent);
    printf("frexp=%a*2^%d ldexp=%g hex=%a\n", mantissa, exponent, ldexp(mean, -20), deviation);
    printf("strtod=%.17g\n", strtod("3.14159265358979323846", NULL));

    uint64_t check = fnv1a((const unsigned char *)values, count * sizeof *values);
    printf("sorted checksum=%016llx\n", (unsigned long long)check);
    free(values);
    free(text);
    return 0;
}
