// The oneDNN baseline for bench/compare.sh: the same training step as `elman-dist bench`
// (one tanh RNN layer, a Linear head on the last step, MSE, Adam) with the recurrent layer on
// oneDNN's vanilla_rnn_forward (forward_training) and vanilla_rnn_backward primitives.
//
//   g++ -O2 -std=c++17 bench/onednn_baseline.cpp -ldnnl -o .build/onednn_baseline   (bench/compare.sh does it)
//   OMP_NUM_THREADS=2 .build/onednn_baseline --input-size 8 --hidden 128 --seq-len 32 --batch-size 64 --steps 200
//
// Optional: Debian's libdnnl-dev (oneDNN 2.6); nothing in CI builds it. Each step pays what a
// oneDNN user pays: reordering the weights into the primitives' layouts (they change every
// update) and the gradients back. Zero initial and final states are passed explicitly:
// oneDNN 2.6.3's backward returns a wrong diff_weights_iter without them (--check compares
// the gradients with central differences of the loss).
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static float *ptr(const memory &m) { return static_cast<float *>(m.get_data_handle()); }

int main(int argc, char **argv) {
    int I = 8, H = 128, T = 32, B = 64, steps = 200, warmup = 20;
    bool check = false;
    for (int k = 1; k < argc; ++k) {
        std::string a = argv[k];
        auto next = [&]() { return k + 1 < argc ? std::atoi(argv[++k]) : 0; };
        if (a == "--input-size") I = next();
        else if (a == "--hidden") H = next();
        else if (a == "--seq-len") T = next();
        else if (a == "--batch-size") B = next();
        else if (a == "--steps") steps = next();
        else if (a == "--warmup") warmup = next();
        else if (a == "--check") check = true;
        else if (a == "--layers") { if (next() != 1) { std::fprintf(stderr, "onednn_baseline: one layer only\n"); return 64; } }
        else { std::fprintf(stderr, "onednn_baseline: unknown argument %s\n", a.c_str()); return 64; }
    }
    if (I < 1 || H < 1 || T < 1 || B < 1 || steps < 1) { std::fprintf(stderr, "onednn_baseline: sizes must be positive\n"); return 64; }

    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    // Shapes in oneDNN's terms: layers = directions = gates = 1.
    memory::dims srcLayer = {T, B, I}, state = {1, 1, B, H}, wLayer = {1, 1, I, 1, H}, wIter = {1, 1, H, 1, H},
                 biasDims = {1, 1, 1, H}, dstLayer = {T, B, H};
    auto md = [](memory::dims d, tag t) { return memory::desc(d, dt::f32, t); };
    auto any = [](memory::dims d) { return memory::desc(d, dt::f32, tag::any); };

    // User memories: x (T, B, I) tnc; W_ih as (I, H) ldigo = W_ihᵀ; W_hh likewise; b (H).
    memory x(md(srcLayer, tag::tnc), eng), h0(md(state, tag::ldnc), eng), hT(md(state, tag::ldnc), eng),
        wl(md(wLayer, tag::ldigo), eng), wi(md(wIter, tag::ldigo), eng), bias(md(biasDims, tag::ldgo), eng),
        hs(md(dstLayer, tag::tnc), eng);
    memory dx(md(srcLayer, tag::tnc), eng), dh0(md(state, tag::ldnc), eng), dhT(md(state, tag::ldnc), eng),
        dwl(md(wLayer, tag::ldigo), eng), dwi(md(wIter, tag::ldigo), eng), dbias(md(biasDims, tag::ldgo), eng),
        dhs(md(dstLayer, tag::tnc), eng);

    auto fd = vanilla_rnn_forward::desc(prop_kind::forward_training, algorithm::eltwise_tanh,
        rnn_direction::unidirectional_left2right, md(srcLayer, tag::tnc), md(state, tag::ldnc), any(wLayer), any(wIter),
        md(biasDims, tag::ldgo), md(dstLayer, tag::tnc), md(state, tag::ldnc));
    auto fpd = vanilla_rnn_forward::primitive_desc(fd, eng);
    auto bd = vanilla_rnn_backward::desc(prop_kind::backward, algorithm::eltwise_tanh,
        rnn_direction::unidirectional_left2right, md(srcLayer, tag::tnc), md(state, tag::ldnc), any(wLayer), any(wIter),
        md(biasDims, tag::ldgo), md(dstLayer, tag::tnc), md(state, tag::ldnc), md(srcLayer, tag::tnc),
        md(state, tag::ldnc), any(wLayer), any(wIter), md(biasDims, tag::ldgo), md(dstLayer, tag::tnc),
        md(state, tag::ldnc));
    auto bpd = vanilla_rnn_backward::primitive_desc(bd, eng, fpd);
    memory wlF(fpd.weights_layer_desc(), eng), wiF(fpd.weights_iter_desc(), eng), wlB(bpd.weights_layer_desc(), eng),
        wiB(bpd.weights_iter_desc(), eng), dwlB(bpd.diff_weights_layer_desc(), eng),
        dwiB(bpd.diff_weights_iter_desc(), eng), workspace(fpd.workspace_desc(), eng);
    vanilla_rnn_forward forward(fpd);
    vanilla_rnn_backward backward(bpd);

    // Parameters as PyTorch initialises them; the head w (H), c; random inputs and targets.
    std::mt19937 rng(1);
    float bound = 1 / std::sqrt(float(H));
    std::uniform_real_distribution<float> u(-bound, bound), v(-1, 1);
    auto fill = [&](const memory &m, size_t n, std::uniform_real_distribution<float> &d) {
        for (size_t k = 0; k < n; ++k) ptr(m)[k] = d(rng);
    };
    fill(wl, size_t(I) * H, u);
    fill(wi, size_t(H) * H, u);
    fill(bias, H, u);
    fill(x, size_t(T) * B * I, v);
    std::vector<float> w(H), dw(H), y(B), target(B);
    for (auto &e : w) e = u(rng);
    for (auto &e : target) e = v(rng);
    float c = u(rng), dc = 0;
    std::memset(ptr(h0), 0, sizeof(float) * B * H);
    std::memset(ptr(dhT), 0, sizeof(float) * B * H);

    // Adam over every parameter, in the user layouts.
    struct Slot { float *p, *g; size_t n; std::vector<float> m, v; };
    std::vector<Slot> slots = {{ptr(wl), ptr(dwl), size_t(I) * H, {}, {}}, {ptr(wi), ptr(dwi), size_t(H) * H, {}, {}},
        {ptr(bias), ptr(dbias), size_t(H), {}, {}}, {w.data(), dw.data(), size_t(H), {}, {}}, {&c, &dc, 1, {}, {}}};
    for (auto &sl : slots) { sl.m.assign(sl.n, 0); sl.v.assign(sl.n, 0); }
    int t = 0;

    auto lossAndGradients = [&]() {
        // Head on h_T: y = h_T · w + c; loss = mean (y − target)²; dh_T = 2(y − target)/B · w.
        reorder(wl, wlF).execute(s, wl, wlF);
        reorder(wi, wiF).execute(s, wi, wiF);
        forward.execute(s, {{DNNL_ARG_SRC_LAYER, x}, {DNNL_ARG_SRC_ITER, h0}, {DNNL_ARG_WEIGHTS_LAYER, wlF},
                               {DNNL_ARG_WEIGHTS_ITER, wiF}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST_LAYER, hs},
                               {DNNL_ARG_DST_ITER, hT}, {DNNL_ARG_WORKSPACE, workspace}});
        s.wait();
        const float *last = ptr(hs) + size_t(T - 1) * B * H;
        float *dlast = ptr(dhs) + size_t(T - 1) * B * H;
        std::memset(ptr(dhs), 0, sizeof(float) * T * B * H);
        std::fill(dw.begin(), dw.end(), 0.f);
        dc = 0;
        double loss = 0;
        for (int b = 0; b < B; ++b) {
            float yb = c;
            for (int j = 0; j < H; ++j) yb += last[b * H + j] * w[j];
            float e = yb - target[b], g = 2 * e / B;
            loss += double(e) * e / B;
            for (int j = 0; j < H; ++j) { dw[j] += g * last[b * H + j]; dlast[b * H + j] = g * w[j]; }
            dc += g;
        }
        reorder(wl, wlB).execute(s, wl, wlB);
        reorder(wi, wiB).execute(s, wi, wiB);
        // oneDNN accumulates into the weight gradients: start each step from zero.
        std::memset(ptr(dwlB), 0, dwlB.get_desc().get_size());
        std::memset(ptr(dwiB), 0, dwiB.get_desc().get_size());
        std::memset(ptr(dbias), 0, sizeof(float) * H);
        backward.execute(s, {{DNNL_ARG_SRC_LAYER, x}, {DNNL_ARG_SRC_ITER, h0}, {DNNL_ARG_WEIGHTS_LAYER, wlB},
                                {DNNL_ARG_WEIGHTS_ITER, wiB}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST_LAYER, hs},
                                {DNNL_ARG_DST_ITER, hT}, {DNNL_ARG_DIFF_DST_LAYER, dhs}, {DNNL_ARG_DIFF_DST_ITER, dhT},
                                {DNNL_ARG_WORKSPACE, workspace}, {DNNL_ARG_DIFF_SRC_LAYER, dx},
                                {DNNL_ARG_DIFF_SRC_ITER, dh0}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwlB},
                                {DNNL_ARG_DIFF_WEIGHTS_ITER, dwiB}, {DNNL_ARG_DIFF_BIAS, dbias}});
        reorder(dwlB, dwl).execute(s, dwlB, dwl);
        reorder(dwiB, dwi).execute(s, dwiB, dwi);
        s.wait();
        return loss;
    };

    if (check) {
        // Central differences of the loss against the gradients, on a few entries of W_hh and W_ih.
        lossAndGradients();
        std::vector<float> gi(ptr(dwi), ptr(dwi) + size_t(H) * H), gl(ptr(dwl), ptr(dwl) + size_t(I) * H);
        double worst = 0;
        for (int k = 0; k < 8; ++k) {
            for (int which = 0; which < 2; ++which) {
                float *p = which ? ptr(wi) : ptr(wl);
                size_t n = which ? size_t(H) * H : size_t(I) * H, at = (size_t(k) * 7919) % n;
                float keep = p[at], e = 1e-3f;
                p[at] = keep + e; double up = lossAndGradients();
                p[at] = keep - e; double down = lossAndGradients();
                p[at] = keep;
                double numeric = (up - down) / (2 * e), analytic = which ? gi[at] : gl[at];
                worst = std::max(worst, std::fabs(numeric - analytic) / std::max(1e-3, std::fabs(numeric)));
            }
        }
        std::printf("onednn check: largest relative gradient error %.2e over 16 entries\n", worst);
        return worst < 2e-2 ? 0 : 1;
    }

    using clock = std::chrono::steady_clock;
    clock::time_point start;
    for (int step = 0; step < warmup + steps; ++step) {
        if (step == warmup) start = clock::now();
        lossAndGradients();
        ++t;
        const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        float c1 = 1 - std::pow(b1, float(t)), c2 = 1 - std::pow(b2, float(t));
        for (auto &sl : slots) {
            for (size_t k = 0; k < sl.n; ++k) {
                float g = sl.g[k];
                sl.m[k] = b1 * sl.m[k] + (1 - b1) * g;
                sl.v[k] = b2 * sl.v[k] + (1 - b2) * g * g;
                sl.p[k] -= lr * (sl.m[k] / c1) / (std::sqrt(sl.v[k] / c2) + eps);
            }
        }
    }
    double seconds = std::chrono::duration<double>(clock::now() - start).count() / steps;
    const char *threads = std::getenv("OMP_NUM_THREADS");
    std::printf("onednn I=%d H=%d L=1 T=%d B=%d threads=%s: %.3f ms/step, %.0f seq/s\n", I, H, T, B,
        threads ? threads : "default", seconds * 1e3, B / seconds);
    return 0;
}
