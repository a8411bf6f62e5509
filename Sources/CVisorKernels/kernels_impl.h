// One family of kernels. kernels.c includes this once per family, having defined (this file
// undefines them at its end):
//   SUFFIX        the family's name, appended to every function here
//   LANES         floats per vector
//   TILE_PIXELS   output pixels per convolution tile
//   TILE_VECTORS  vectors of output channels per tile (at most 3)
//   DW_VECTORS    vectors of channels per depthwise sweep (1 or 2)
//   TARGET        the target attribute of every function (empty for the portable family)
//   FMA(a, b, c)  a * b + c, fused where the family has it
// Register budget: TILE_PIXELS * TILE_VECTORS accumulators, TILE_VECTORS weights and one
// broadcast input must fit the family's vector registers (16 for AVX2 and SSE, 32 for AVX-512
// and NEON), or the tile spills and runs at a fraction of its speed.

#define VK_CAT_(a, b) a##_##b
#define VK_CAT(a, b) VK_CAT_(a, b)
#define F(name) VK_CAT(name, SUFFIX)
#define INLINE static inline __attribute__((always_inline)) TARGET

typedef float F(vec) __attribute__((ext_vector_type(LANES)));
#define V F(vec)

INLINE V F(load)(const float *p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

INLINE void F(store)(float *p, V v) { __builtin_memcpy(p, &v, sizeof v); }

INLINE V F(splat)(float s) { return (V)s; }

INLINE V F(activate)(V v, int activation) {
    switch (activation) {
    case VK_RELU: return __builtin_elementwise_max(v, F(splat)(0));
    case VK_RELU6: return __builtin_elementwise_min(__builtin_elementwise_max(v, F(splat)(0)), F(splat)(6));
    case VK_RELU_N1_TO_1: return __builtin_elementwise_min(__builtin_elementwise_max(v, F(splat)(-1)), F(splat)(1));
    default: return v;
    }
}

/// Scalar activation, for channels fewer than a vector.
static inline float F(activate1)(float v, int activation) {
    switch (activation) {
    case VK_RELU: return v < 0 ? 0 : v;
    case VK_RELU6: return v < 0 ? 0 : (v > 6 ? 6 : v);
    case VK_RELU_N1_TO_1: return v < -1 ? -1 : (v > 1 ? 1 : v);
    default: return v;
    }
}

/// The end of one accumulated vector of channels [o, o + LANES) of `pixel`: the residual's
/// channels (those past its width are zeros), the activation, the store (only the channels
/// there are, when the output has fewer than a vector). The tiles pass `activation` and
/// `residual` as constants, so that their epilogue has no branch on them.
INLINE void F(end)(const vk_epilogue *e, V v, long pixel, int o, const int activation, const int residual) {
    // (Lane by lane where a vector would pass the end: no memset or memcpy call, which would
    // make the compiler spill every accumulator around it.)
    const int rc = e->rc, co = e->co;
    if (residual && o < rc) {
        const float *r = e->residual + pixel * rc + o;
        if (o + LANES <= rc) {
            v += F(load)(r);
        } else {
            V t = F(splat)(0);
            for (int k = 0; k < rc - o; k++) t[k] = r[k];
            v += t;
        }
    }
    v = F(activate)(v, activation);
    float *d = e->output + pixel * co + o;
    if (co >= LANES) {
        F(store)(d, v);
    } else {
        for (int k = 0; k < co; k++) d[k] = v[k];
    }
}

INLINE void F(finish)(const vk_epilogue *e, V v, long pixel, int o) { F(end)(e, v, pixel, o, e->activation, e->residual != 0); }

/// TILE_PIXELS output pixels by `n` vectors of channels at `off[0..n)`: each weight vector
/// loaded feeds TILE_PIXELS multiply-adds, each input broadcast feeds `n`. Inlined with `n`
/// constant, so that the accumulators live in registers.
INLINE void F(tile)(const vk_run *r, const float *bias, const vk_epilogue *e, long p, const int *off, const int n, const int activation,
                    const int residual) {
    V acc[TILE_PIXELS][TILE_VECTORS];
    for (int j = 0; j < n; j++) {
        V b = F(load)(bias + off[j]);
        for (int i = 0; i < TILE_PIXELS; i++) acc[i][j] = b;
    }
    const long ps = r->pixelStep, ws = r->weightStride;
    const float *xr = r->x, *wr = r->weights;
    for (int row = 0; row < r->rows; row++) {
        const float *xp = xr, *wp = wr;
        for (int k = 0; k < r->count; k++) {
            V wv[TILE_VECTORS];
            for (int j = 0; j < n; j++) wv[j] = F(load)(wp + off[j]);
            for (int i = 0; i < TILE_PIXELS; i++) {
                V b = F(splat)(xp[i * ps]);
                for (int j = 0; j < n; j++) acc[i][j] = FMA(b, wv[j], acc[i][j]);
            }
            wp += ws;
            xp += 1;
        }
        xr += r->rowStep;
        wr += r->weightRowStep;
    }
    for (int i = 0; i < TILE_PIXELS; i++)
        for (int j = 0; j < n; j++) F(end)(e, acc[i][j], p + i, off[j], activation, residual);
}

/// A tile with its epilogue made for the convolution's activation (none and ReLU, BlazeFace's
/// two) and residual.
INLINE void F(tilen)(const vk_run *r, const float *bias, const vk_epilogue *e, long p, const int *off, const int n) {
    const int residual = e->residual != 0;
    switch (e->activation) {
    case VK_NONE:
        if (residual) F(tile)(r, bias, e, p, off, n, VK_NONE, 1);
        else F(tile)(r, bias, e, p, off, n, VK_NONE, 0);
        break;
    case VK_RELU:
        if (residual) F(tile)(r, bias, e, p, off, n, VK_RELU, 1);
        else F(tile)(r, bias, e, p, off, n, VK_RELU, 0);
        break;
    default: F(tile)(r, bias, e, p, off, n, e->activation, residual); break;
    }
}

/// TILE_PIXELS pixels, every output channel: whole tiles, then the channels left in as few
/// vectors as cover them, the last moved back to end with the channels (it redoes a few).
static TARGET void F(tiles)(const vk_run *r, int co, const float *bias, const vk_epilogue *e, long p) {
    int o = 0, off[TILE_VECTORS];
    while (co - o >= TILE_VECTORS * LANES) {
        for (int j = 0; j < TILE_VECTORS; j++) off[j] = o + j * LANES;
        F(tilen)(r, bias, e, p, off, TILE_VECTORS);
        o += TILE_VECTORS * LANES;
    }
    const int left = co - o;
    if (left <= 0) return;
    const int n = (left + LANES - 1) / LANES;
    for (int j = 0; j < n; j++) {
        const int at = o + j * LANES;
        off[j] = co < LANES ? 0 : (at < co - LANES ? at : co - LANES);
    }
    switch (n) {
    case 1: F(tilen)(r, bias, e, p, off, 1); break;
#if TILE_VECTORS >= 2
    case 2: F(tilen)(r, bias, e, p, off, 2); break;
#endif
#if TILE_VECTORS >= 3
    case 3: F(tilen)(r, bias, e, p, off, 3); break;
#endif
    default: break;
    }
}

/// One output pixel, every output channel, a vector at a time.
static TARGET void F(one)(const vk_run *r, int co, const float *bias, const vk_epilogue *e, long pixel) {
    for (int o = 0; o < co;) {
        const int at = (co - o >= LANES || co < LANES) ? o : co - LANES;
        V a = F(load)(bias + at);
        const float *xr = r->x, *wr = r->weights + at;
        for (int row = 0; row < r->rows; row++) {
            const float *wp = wr;
            for (int k = 0; k < r->count; k++) {
                a = FMA(F(splat)(xr[k]), F(load)(wp), a);
                wp += r->weightStride;
            }
            xr += r->rowStep;
            wr += r->weightRowStep;
        }
        F(finish)(e, a, pixel, at);
        o = at + LANES;
    }
}

static inline int F(min)(int a, int b) { return a < b ? a : b; }
static inline int F(max)(int a, int b) { return a > b ? a : b; }

/// A 1x1 convolution: the pixels [P][CI] times the weights [CI][COP], TILE_PIXELS at a time
/// (the last tile moved back to end with the pixels).
static TARGET void F(pointwise)(const float *input, long pixels, int ci, const float *weights, const float *bias, int co, int cop,
                                const vk_epilogue *e) {
    vk_run r = {input, ci, 0, weights, 0, 1, ci, cop};
    if (pixels < TILE_PIXELS) {
        for (long p = 0; p < pixels; p++) {
            r.x = input + p * ci;
            F(one)(&r, co, bias, e, p);
        }
        return;
    }
    for (long p = 0; p < pixels;) {
        const long at = p < pixels - TILE_PIXELS ? p : pixels - TILE_PIXELS;
        r.x = input + at * ci;
        F(tiles)(&r, co, bias, e, at);
        p = at + TILE_PIXELS;
    }
}

static TARGET void F(vk_conv)(const float *input, float *output, const float *weights, const float *bias, int h, int w, int ci, int oh,
                       int ow, int co, int cop, int kh, int kw, int sy, int sx, int py, int px, int activation,
                       const float *residual, int rc) {
    const vk_epilogue e = {output, residual, co, rc, activation};
    if (kh == 1 && kw == 1 && sy == 1 && sx == 1 && py == 0 && px == 0 && h == oh && w == ow) {
        F(pointwise)(input, (long)oh * ow, ci, weights, bias, co, cop, &e);
        return;
    }
    // Columns [first, last) whose window lies inside the input along x go a tile at a time
    // (a kernel row's taps are adjacent in the input and in the weights: one run each); the
    // border pixels one at a time.
    const int first = F(min)(ow, (px + sx - 1) / sx);
    const int last = w - kw + px < 0 ? first : F(max)(first, F(min)(ow, (w - kw + px) / sx + 1));
    for (int oy = 0; oy < oh; oy++) {
        const int y0 = oy * sy - py;
        const int kys = F(max)(0, -y0), kye = F(max)(kys, F(min)(kh, h - y0));
        vk_run r = {0, (long)sx * ci, (long)w * ci, 0, (long)kw * ci * cop, kye - kys, 0, cop};
#define VK_AT(ox)                                                                                    \
    do {                                                                                             \
        const int x0 = (ox) * sx - px;                                                               \
        const int kxs = F(max)(0, -x0), kxe = F(max)(kxs, F(min)(kw, w - x0));                       \
        r.x = input + ((long)(y0 + kys) * w + x0 + kxs) * ci;                                        \
        r.weights = weights + ((long)kys * kw + kxs) * ci * cop;                                     \
        r.count = (kxe - kxs) * ci;                                                                  \
    } while (0)
        int tiledFrom = first, tiledTo = first;
        if (last - first >= TILE_PIXELS) {
            for (int ox = first; ox < last;) {
                const int at = ox < last - TILE_PIXELS ? ox : last - TILE_PIXELS;
                VK_AT(at);
                F(tiles)(&r, co, bias, &e, (long)oy * ow + at);
                ox = at + TILE_PIXELS;
            }
            tiledTo = last;
        }
        for (int ox = 0; ox < ow; ox++) {
            if (ox >= tiledFrom && ox < tiledTo) continue;
            VK_AT(ox);
            F(one)(&r, co, bias, &e, (long)oy * ow + ox);
        }
#undef VK_AT
    }
}

/// One output pixel of a depthwise convolution, any kernel, borders included.
static TARGET void F(dwpixel)(int oy, int ox, long pixel, const float *input, const vk_epilogue *e, const float *weights, const float *bias,
                              int h, int w, int c, int kh, int kw, int sy, int sx, int py, int px) {
    const int y0 = oy * sy - py, x0 = ox * sx - px;
    const int kys = F(max)(0, -y0), kye = F(max)(kys, F(min)(kh, h - y0));
    const int kxs = F(max)(0, -x0), kxe = F(max)(kxs, F(min)(kw, w - x0));
    if (c >= LANES) {
        for (int k = 0; k < c;) {
            const int at = k < c - LANES ? k : c - LANES;
            V a = F(load)(bias + at);
            for (int ky = kys; ky < kye; ky++) {
                const float *row = input + ((long)(y0 + ky) * w + x0) * c + at, *wrow = weights + (long)ky * kw * c + at;
                for (int kx = kxs; kx < kxe; kx++) a = FMA(F(load)(row + (long)kx * c), F(load)(wrow + (long)kx * c), a);
            }
            F(finish)(e, a, pixel, at);
            k = at + LANES;
        }
        return;
    }
    float *out = e->output + pixel * c;
    for (int k = 0; k < c; k++) {
        float a = bias[k];
        for (int ky = kys; ky < kye; ky++)
            for (int kx = kxs; kx < kxe; kx++) a += input[((long)(y0 + ky) * w + x0 + kx) * c + k] * weights[((long)ky * kw + kx) * c + k];
        out[k] = F(activate1)(a, e->activation);
    }
}

/// `count` output pixels of a 3x3 depthwise row, one vector of channels at `k`, the nine
/// weights in registers. With a stride of one, two neighbouring pixels share two of their
/// three columns: four loads a row serve both.
INLINE void F(sweep1body)(const float *x, long rowStep, long step, int c, const float *weights, const float *bias, const vk_epilogue *e,
                          long pixel, int count, int k, const int activation) {
    const V b = F(load)(bias);
    const V w00 = F(load)(weights), w01 = F(load)(weights + c), w02 = F(load)(weights + 2 * c);
    const V w10 = F(load)(weights + 3 * c), w11 = F(load)(weights + 4 * c), w12 = F(load)(weights + 5 * c);
    const V w20 = F(load)(weights + 6 * c), w21 = F(load)(weights + 7 * c), w22 = F(load)(weights + 8 * c);
    const float *r0 = x;
    int n = 0;
    if (step == c) {
        for (; n + 2 <= count; n += 2) {
            const float *r1 = r0 + rowStep, *r2 = r1 + rowStep;
            V a = b, d = b, p0, p1, p2, p3;
            p0 = F(load)(r0); p1 = F(load)(r0 + c); p2 = F(load)(r0 + 2 * c); p3 = F(load)(r0 + 3 * c);
            a = FMA(p0, w00, a); a = FMA(p1, w01, a); a = FMA(p2, w02, a);
            d = FMA(p1, w00, d); d = FMA(p2, w01, d); d = FMA(p3, w02, d);
            p0 = F(load)(r1); p1 = F(load)(r1 + c); p2 = F(load)(r1 + 2 * c); p3 = F(load)(r1 + 3 * c);
            a = FMA(p0, w10, a); a = FMA(p1, w11, a); a = FMA(p2, w12, a);
            d = FMA(p1, w10, d); d = FMA(p2, w11, d); d = FMA(p3, w12, d);
            p0 = F(load)(r2); p1 = F(load)(r2 + c); p2 = F(load)(r2 + 2 * c); p3 = F(load)(r2 + 3 * c);
            a = FMA(p0, w20, a); a = FMA(p1, w21, a); a = FMA(p2, w22, a);
            d = FMA(p1, w20, d); d = FMA(p2, w21, d); d = FMA(p3, w22, d);
            F(end)(e, a, pixel + n, k, activation, 0);
            F(end)(e, d, pixel + n + 1, k, activation, 0);
            r0 += 2 * c;
        }
    }
    for (; n < count; n++) {
        const float *r1 = r0 + rowStep, *r2 = r1 + rowStep;
        V a = b;
        a = FMA(F(load)(r0), w00, a); a = FMA(F(load)(r0 + c), w01, a); a = FMA(F(load)(r0 + 2 * c), w02, a);
        a = FMA(F(load)(r1), w10, a); a = FMA(F(load)(r1 + c), w11, a); a = FMA(F(load)(r1 + 2 * c), w12, a);
        a = FMA(F(load)(r2), w20, a); a = FMA(F(load)(r2 + c), w21, a); a = FMA(F(load)(r2 + 2 * c), w22, a);
        F(end)(e, a, pixel + n, k, activation, 0);
        r0 += step;
    }
}

/// The sweep made for the activation, a function of its own so that its nine weights keep
/// their registers (inlined into the row's loop, they went to the stack).
static TARGET __attribute__((noinline)) void F(sweep1)(const float *x, long rowStep, long step, int c, const float *weights,
                                                       const float *bias, const vk_epilogue *e, long pixel, int count, int k) {
    switch (e->activation) {
    case VK_NONE: F(sweep1body)(x, rowStep, step, c, weights, bias, e, pixel, count, k, VK_NONE); break;
    case VK_RELU: F(sweep1body)(x, rowStep, step, c, weights, bias, e, pixel, count, k, VK_RELU); break;
    default: F(sweep1body)(x, rowStep, step, c, weights, bias, e, pixel, count, k, e->activation); break;
    }
}

#if DW_VECTORS >= 2
/// Two vectors of channels in one sweep (a family with 32 registers): each input pixel's
/// cache lines are read once.
INLINE void F(sweep2body)(const float *x, long rowStep, long step, int c, const float *weights, const float *bias, const vk_epilogue *e,
                          long pixel, int count, int k, const int activation) {
    const V b = F(load)(bias), bb = F(load)(bias + LANES);
    const V w00 = F(load)(weights), w01 = F(load)(weights + c), w02 = F(load)(weights + 2 * c);
    const V w10 = F(load)(weights + 3 * c), w11 = F(load)(weights + 4 * c), w12 = F(load)(weights + 5 * c);
    const V w20 = F(load)(weights + 6 * c), w21 = F(load)(weights + 7 * c), w22 = F(load)(weights + 8 * c);
    const float *v = weights + LANES;
    const V v00 = F(load)(v), v01 = F(load)(v + c), v02 = F(load)(v + 2 * c);
    const V v10 = F(load)(v + 3 * c), v11 = F(load)(v + 4 * c), v12 = F(load)(v + 5 * c);
    const V v20 = F(load)(v + 6 * c), v21 = F(load)(v + 7 * c), v22 = F(load)(v + 8 * c);
    const float *r0 = x;
    for (int n = 0; n < count; n++) {
        const float *r1 = r0 + rowStep, *r2 = r1 + rowStep;
        V a = b, d = bb;
        a = FMA(F(load)(r0), w00, a); a = FMA(F(load)(r0 + c), w01, a); a = FMA(F(load)(r0 + 2 * c), w02, a);
        d = FMA(F(load)(r0 + LANES), v00, d); d = FMA(F(load)(r0 + c + LANES), v01, d); d = FMA(F(load)(r0 + 2 * c + LANES), v02, d);
        a = FMA(F(load)(r1), w10, a); a = FMA(F(load)(r1 + c), w11, a); a = FMA(F(load)(r1 + 2 * c), w12, a);
        d = FMA(F(load)(r1 + LANES), v10, d); d = FMA(F(load)(r1 + c + LANES), v11, d); d = FMA(F(load)(r1 + 2 * c + LANES), v12, d);
        a = FMA(F(load)(r2), w20, a); a = FMA(F(load)(r2 + c), w21, a); a = FMA(F(load)(r2 + 2 * c), w22, a);
        d = FMA(F(load)(r2 + LANES), v20, d); d = FMA(F(load)(r2 + c + LANES), v21, d); d = FMA(F(load)(r2 + 2 * c + LANES), v22, d);
        F(end)(e, a, pixel + n, k, activation, 0);
        F(end)(e, d, pixel + n, k + LANES, activation, 0);
        r0 += step;
    }
}

static TARGET __attribute__((noinline)) void F(sweep2)(const float *x, long rowStep, long step, int c, const float *weights,
                                                       const float *bias, const vk_epilogue *e, long pixel, int count, int k) {
    switch (e->activation) {
    case VK_NONE: F(sweep2body)(x, rowStep, step, c, weights, bias, e, pixel, count, k, VK_NONE); break;
    case VK_RELU: F(sweep2body)(x, rowStep, step, c, weights, bias, e, pixel, count, k, VK_RELU); break;
    default: F(sweep2body)(x, rowStep, step, c, weights, bias, e, pixel, count, k, e->activation); break;
    }
}
#endif

/// One output row of a depthwise convolution. The pixels whose 3x3 window lies inside the input ([first, last)) are swept a vector of channels
/// at a time; the others, and other kernels, go a pixel at a time.
static TARGET void F(dwrow)(int oy, const float *input, const vk_epilogue *e, const float *weights, const float *bias, int h,
                            int w, int c, int ow, int kh, int kw, int sy, int sx, int py, int px) {
    const long pixel = (long)oy * ow;
    const int first = F(min)(ow, (px + sx - 1) / sx);
    const int last = w - 3 + px < 0 ? first : F(max)(first, F(min)(ow, (w - 3 + px) / sx + 1));
    const int y0 = oy * sy - py;
    if (kh != 3 || kw != 3 || c < LANES || y0 < 0 || y0 + 3 > h) {
        for (int ox = 0; ox < ow; ox++) F(dwpixel)(oy, ox, pixel + ox, input, e, weights, bias, h, w, c, kh, kw, sy, sx, py, px);
        return;
    }
    const float *row = input + (long)y0 * w * c + (long)(first * sx - px) * c;
    const long rowStep = (long)w * c, step = (long)sx * c;
    int k = 0;
#if DW_VECTORS >= 2
    for (; k + 2 * LANES <= c; k += 2 * LANES) F(sweep2)(row + k, rowStep, step, c, weights + k, bias + k, e, pixel + first, last - first, k);
#endif
    while (k < c) {
        const int at = k < c - LANES ? k : c - LANES;
        F(sweep1)(row + at, rowStep, step, c, weights + at, bias + at, e, pixel + first, last - first, at);
        k = at + LANES;
    }
    for (int ox = 0; ox < first; ox++) F(dwpixel)(oy, ox, pixel + ox, input, e, weights, bias, h, w, c, kh, kw, sy, sx, py, px);
    for (int ox = last; ox < ow; ox++) F(dwpixel)(oy, ox, pixel + ox, input, e, weights, bias, h, w, c, kh, kw, sy, sx, py, px);
}

static TARGET void F(vk_depthwise)(const float *input, float *output, const float *weights, const float *bias, int h, int w, int c, int oh,
                                   int ow, int kh, int kw, int sy, int sx, int py, int px, int activation) {
    const vk_epilogue e = {output, 0, c, 0, activation};
    for (int oy = 0; oy < oh; oy++) F(dwrow)(oy, input, &e, weights, bias, h, w, c, ow, kh, kw, sy, sx, py, px);
}

/// A 1x1 convolution with fewer outputs than a vector (a detector's score head), weights
/// [CO][CI]: each output is a dot product of the pixel's input channels with its weights, a
/// vector of channels at a time for every output at once, then summed across the lanes.
static TARGET void F(vk_narrow)(const float *input, float *output, const float *weights, const float *bias, int h, int w, int ci,
                                int oh, int ow, int co, int sy, int sx, int py, int px, int activation, const float *residual, int rc) {
    enum { MAX_OUT = 8 };
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            const int y = oy * sy - py, x = ox * sx - px;
            const long pixel = (long)oy * ow + ox;
            float sums[MAX_OUT];
            for (int o = 0; o < co; o++) sums[o] = bias[o];
            if (y >= 0 && y < h && x >= 0 && x < w) {
                const float *src = input + ((long)y * w + x) * ci;
                for (int o0 = 0; o0 < co; o0 += MAX_OUT / 2) {
                    const int n = co - o0 < MAX_OUT / 2 ? co - o0 : MAX_OUT / 2;
                    V acc[MAX_OUT / 2];
                    for (int j = 0; j < n; j++) acc[j] = F(splat)(0);
                    int i = 0;
                    for (; i + LANES <= ci; i += LANES) {
                        const V v = F(load)(src + i);
                        for (int j = 0; j < n; j++) acc[j] = FMA(v, F(load)(weights + (long)(o0 + j) * ci + i), acc[j]);
                    }
                    for (int j = 0; j < n; j++) {
                        float lanes[LANES], sum = 0;
                        F(store)(lanes, acc[j]);
                        for (int k = 0; k < LANES; k++) sum += lanes[k];
                        for (int k = i; k < ci; k++) sum += src[k] * weights[(long)(o0 + j) * ci + k];
                        sums[o0 + j] += sum;
                    }
                }
            }
            float *out = output + pixel * co;
            for (int o = 0; o < co; o++) {
                out[o] = F(activate1)(sums[o] + (residual && o < rc ? residual[pixel * rc + o] : 0), activation);
            }
        }
    }
}

/// Max pooling, NHWC: a vector of channels at a time (the last moved back to end with them),
/// the window clipped to the input.
static TARGET void F(vk_maxpool)(const float *input, float *output, int h, int w, int c, int oh, int ow, int fh, int fw, int sy, int sx,
                                 int py, int px, int activation) {
    for (int oy = 0; oy < oh; oy++) {
        const int y0 = oy * sy - py;
        const int fys = F(max)(0, -y0), fye = F(max)(fys, F(min)(fh, h - y0));
        for (int ox = 0; ox < ow; ox++) {
            const int x0 = ox * sx - px;
            const int fxs = F(max)(0, -x0), fxe = F(max)(fxs, F(min)(fw, w - x0));
            float *o = output + ((long)oy * ow + ox) * c;
            if (c >= LANES) {
                for (int k = 0; k < c;) {
                    const int at = k < c - LANES ? k : c - LANES;
                    V m = F(splat)(-__FLT_MAX__);
                    for (int fy = fys; fy < fye; fy++)
                        for (int fx = fxs; fx < fxe; fx++)
                            m = __builtin_elementwise_max(m, F(load)(input + ((long)(y0 + fy) * w + x0 + fx) * c + at));
                    F(store)(o + at, F(activate)(m, activation));
                    k = at + LANES;
                }
            } else {
                for (int k = 0; k < c; k++) {
                    float m = -__FLT_MAX__;
                    for (int fy = fys; fy < fye; fy++)
                        for (int fx = fxs; fx < fxe; fx++) {
                            const float v = input[((long)(y0 + fy) * w + x0 + fx) * c + k];
                            m = v > m ? v : m;
                        }
                    o[k] = F(activate1)(m, activation);
                }
            }
        }
    }
}

/// Bilinear resizing, NHWC, as TFLite defines it (align_corners, half_pixel_centers).
static TARGET void F(vk_resize)(const float *input, float *output, int ih, int iw, int c, int oh, int ow, int alignCorners,
                                int halfPixel) {
    const float sy = alignCorners && oh > 1 ? (float)(ih - 1) / (float)(oh - 1) : (float)ih / (float)oh;
    const float sx = alignCorners && ow > 1 ? (float)(iw - 1) / (float)(ow - 1) : (float)iw / (float)ow;
    for (int y = 0; y < oh; y++) {
        float fy = halfPixel ? ((float)y + 0.5f) * sy - 0.5f : (float)y * sy;
        if (fy < 0) fy = 0;
        const int y0 = F(min)(ih - 1, (int)fy), y1 = F(min)(ih - 1, y0 + 1);
        const float dy = fy - (float)y0;
        for (int x = 0; x < ow; x++) {
            float fx = halfPixel ? ((float)x + 0.5f) * sx - 0.5f : (float)x * sx;
            if (fx < 0) fx = 0;
            const int x0 = F(min)(iw - 1, (int)fx), x1 = F(min)(iw - 1, x0 + 1);
            const float dx = fx - (float)x0;
            float *o = output + ((long)y * ow + x) * c;
            const float *p00 = input + ((long)y0 * iw + x0) * c, *p01 = input + ((long)y0 * iw + x1) * c;
            const float *p10 = input + ((long)y1 * iw + x0) * c, *p11 = input + ((long)y1 * iw + x1) * c;
            if (c >= LANES) {
                const V vdx = F(splat)(dx), vdy = F(splat)(dy);
                for (int k = 0; k < c;) {
                    const int at = k < c - LANES ? k : c - LANES;
                    const V a = F(load)(p00 + at), b = F(load)(p01 + at), cc = F(load)(p10 + at), d = F(load)(p11 + at);
                    const V top = a + (b - a) * vdx, bottom = cc + (d - cc) * vdx;
                    F(store)(o + at, top + (bottom - top) * vdy);
                    k = at + LANES;
                }
            } else {
                for (int k = 0; k < c; k++) {
                    const float top = p00[k] + (p01[k] - p00[k]) * dx, bottom = p10[k] + (p11[k] - p10[k]) * dx;
                    o[k] = top + (bottom - top) * dy;
                }
            }
        }
    }
}

/// An element-wise sum of two tensors of `count` floats, then the activation.
static TARGET void F(vk_add)(const float *a, const float *b, float *output, long count, int activation) {
    long i = 0;
    for (; i + LANES <= count; i += LANES) F(store)(output + i, F(activate)(F(load)(a + i) + F(load)(b + i), activation));
    for (; i < count; i++) output[i] = F(activate1)(a[i] + b[i], activation);
}

#undef V
#undef INLINE
#undef F
#undef VK_CAT
#undef VK_CAT_
#undef SUFFIX
#undef LANES
#undef TILE_PIXELS
#undef TILE_VECTORS
#undef DW_VECTORS
#undef TARGET
#undef FMA
