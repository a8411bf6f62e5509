// Visor's convolution kernels, compiled once for each family of vector instructions and chosen
// when a model is loaded, by what the CPU (and the operating system) supports. Each family is the
// same C, written with clang's vector extensions, instantiated with its own vector width, tile
// shape and target attribute (kernels.c); no file is built for the building machine's CPU.
#ifndef VISOR_KERNELS_H
#define VISOR_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A family of kernels. `portable` is plain vector C for the baseline of the architecture (SSE2 on
/// x86-64, NEON on arm64); the others exist on x86-64 only.
typedef enum {
    VK_PORTABLE = 0,
    VK_AVX2 = 1,
    VK_AVX512 = 2,
} vk_family;

/// Whether this CPU and operating system run `family` (the OS must save the vector registers).
int vk_supported(vk_family family);

/// The fastest family this CPU runs.
vk_family vk_best(void);

/// Activations, as TFLite numbers them.
enum { VK_NONE = 0, VK_RELU = 1, VK_RELU_N1_TO_1 = 2, VK_RELU6 = 3 };

/// NHWC convolution, batch 1. `weights` are repacked [KH][KW][CI][COP] with COP >= max(CO, 16)
/// (lanes past CO are read and dropped), `bias` is CO floats that may be read up to 16 past CO.
/// `residual` (may be NULL) is added before the activation: an [OH*OW][RC] tensor with RC <= CO,
/// its channels past RC taken as zeros. Reads up to 16 floats past the end of each input.
void vk_conv(vk_family family, const float *input, float *output, const float *weights, const float *bias,
             int h, int w, int ci, int oh, int ow, int co, int cop, int kh, int kw, int sy, int sx, int py, int px,
             int activation, const float *residual, int rc);

/// Depthwise convolution with a multiplier of 1: `weights` [KH][KW][C], `bias` C floats.
void vk_depthwise(vk_family family, const float *input, float *output, const float *weights, const float *bias,
                  int h, int w, int c, int oh, int ow, int kh, int kw, int sy, int sx, int py, int px, int activation);

/// A 1x1 convolution with at most 8 outputs (a score head), `weights` [CO][CI] as the model has
/// them; `residual` as for `vk_conv`. Any stride and padding.
void vk_narrow(vk_family family, const float *input, float *output, const float *weights, const float *bias, int h, int w, int ci,
               int oh, int ow, int co, int sy, int sx, int py, int px, int activation, const float *residual, int rc);

/// Max pooling, NHWC, the window (FH, FW) clipped to the input, then the activation.
void vk_maxpool(vk_family family, const float *input, float *output, int h, int w, int c, int oh, int ow, int fh, int fw, int sy, int sx,
                int py, int px, int activation);

/// Bilinear resizing, NHWC, as TFLite's RESIZE_BILINEAR (align_corners, half_pixel_centers).
void vk_resize(vk_family family, const float *input, float *output, int ih, int iw, int c, int oh, int ow, int alignCorners,
               int halfPixel);

/// `count` floats of `a` plus `b`, then the activation.
void vk_add(vk_family family, const float *a, const float *b, float *output, long count, int activation);

#ifdef __cplusplus
}
#endif

#endif
