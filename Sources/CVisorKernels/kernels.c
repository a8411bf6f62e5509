// The kernel families: kernels_impl.h instantiated once per family, and the choice among them.
#include "visor_kernels.h"

/// What a convolution does to an accumulated vector before storing it.
typedef struct {
    float *output;
    const float *residual;
    int co, rc, activation;
} vk_epilogue;

/// A sweep of multiply-adds for one or more output pixels: `rows` runs of `count` inputs (a
/// kernel row's taps are adjacent in the input and in the repacked weights).
typedef struct {
    const float *x;
    long pixelStep, rowStep;
    const float *weights;
    long weightRowStep;
    int rows, count;
    long weightStride;
} vk_run;

// Portable: the architecture's baseline vectors (SSE2 on x86-64, NEON on arm64), four lanes.
#define SUFFIX portable
#define LANES 4
#define TILE_PIXELS 4
#define TILE_VECTORS 3
#define DW_VECTORS 1
#define TARGET
#define FMA(a, b, c) ((a) * (b) + (c))
#include "kernels_impl.h"

#if defined(__x86_64__)
#include <cpuid.h>

// AVX2 with FMA: 16 registers of eight floats; a tile of 6 pixels by 16 channels takes 12
// accumulators, 2 weight vectors and a broadcast.
#define SUFFIX avx2
#define LANES 8
#define TILE_PIXELS 6
#define TILE_VECTORS 2
#define DW_VECTORS 1
#define TARGET __attribute__((target("avx2,fma")))
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#include "kernels_impl.h"

// AVX-512: 32 registers of sixteen floats; 8 pixels by 32 channels take 16 accumulators.
#define SUFFIX avx512
#define LANES 16
#define TILE_PIXELS 8
#define TILE_VECTORS 2
#define DW_VECTORS 2
#define TARGET __attribute__((target("avx512f,avx2,fma")))
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#include "kernels_impl.h"

static unsigned long long vk_xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int vk_supported(vk_family family) {
    if (family == VK_PORTABLE) return 1;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    // The operating system must save the SSE and AVX state (XCR0 bits 1 and 2), and for
    // AVX-512 also the mask and upper registers (bits 5 to 7).
    if (!osxsave || !avx) return 0;
    const unsigned long long xcr0 = vk_xcr0();
    if ((xcr0 & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    switch (family) {
    case VK_AVX2: return avx2 && fma;
    case VK_AVX512: return avx2 && fma && avx512f && (xcr0 & 0xE6) == 0xE6;
    default: return 0;
    }
}
#else
int vk_supported(vk_family family) { return family == VK_PORTABLE; }
#endif

vk_family vk_best(void) {
    if (vk_supported(VK_AVX512)) return VK_AVX512;
    if (vk_supported(VK_AVX2)) return VK_AVX2;
    return VK_PORTABLE;
}

/// Calls the family's copy of a kernel.
#if defined(__x86_64__)
#define VK_DISPATCH(family, name, ...)                                                               \
    switch (family) {                                                                                \
    case VK_AVX512: name##_avx512(__VA_ARGS__); return;                                              \
    case VK_AVX2: name##_avx2(__VA_ARGS__); return;                                                  \
    default: name##_portable(__VA_ARGS__); return;                                                   \
    }
#else
#define VK_DISPATCH(family, name, ...) ((void)(family), name##_portable(__VA_ARGS__))
#endif

/// The family to run a layer of `channels` channels in. A vector wider than the channels
/// computes lanes that are dropped (AVX-512's 16 lanes over 8 channels: half of them), and a
/// depthwise convolution or pooling with fewer channels than a vector goes a channel at a time;
/// the next narrower family the CPU also runs covers them in whole vectors (BlazeFace full
/// range's 8- and 12-channel layers at 96x96 and 48x48 took 40 times as long in the AVX-512 family).
static vk_family vk_fit(vk_family family, int channels) {
    if (family == VK_AVX512 && channels < 16) family = VK_AVX2;
    if (family == VK_AVX2 && channels < 8) family = VK_PORTABLE;
    return family;
}

void vk_conv(vk_family family, const float *input, float *output, const float *weights, const float *bias, int h, int w, int ci,
             int oh, int ow, int co, int cop, int kh, int kw, int sy, int sx, int py, int px, int activation,
             const float *residual, int rc) {
    family = vk_fit(family, co);
    VK_DISPATCH(family, vk_conv, input, output, weights, bias, h, w, ci, oh, ow, co, cop, kh, kw, sy, sx, py, px, activation, residual, rc);
}

void vk_depthwise(vk_family family, const float *input, float *output, const float *weights, const float *bias, int h, int w, int c,
                  int oh, int ow, int kh, int kw, int sy, int sx, int py, int px, int activation) {
    family = vk_fit(family, c);
    VK_DISPATCH(family, vk_depthwise, input, output, weights, bias, h, w, c, oh, ow, kh, kw, sy, sx, py, px, activation);
}

void vk_narrow(vk_family family, const float *input, float *output, const float *weights, const float *bias, int h, int w, int ci,
               int oh, int ow, int co, int sy, int sx, int py, int px, int activation, const float *residual, int rc) {
    if (co > 8) return;
    VK_DISPATCH(family, vk_narrow, input, output, weights, bias, h, w, ci, oh, ow, co, sy, sx, py, px, activation, residual, rc);
}

void vk_maxpool(vk_family family, const float *input, float *output, int h, int w, int c, int oh, int ow, int fh, int fw, int sy, int sx,
                int py, int px, int activation) {
    family = vk_fit(family, c);
    VK_DISPATCH(family, vk_maxpool, input, output, h, w, c, oh, ow, fh, fw, sy, sx, py, px, activation);
}

void vk_resize(vk_family family, const float *input, float *output, int ih, int iw, int c, int oh, int ow, int alignCorners,
               int halfPixel) {
    family = vk_fit(family, c);
    VK_DISPATCH(family, vk_resize, input, output, ih, iw, c, oh, ow, alignCorners, halfPixel);
}

void vk_add(vk_family family, const float *a, const float *b, float *output, long count, int activation) {
    VK_DISPATCH(family, vk_add, a, b, output, count, activation);
}
