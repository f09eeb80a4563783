//! Counter-based random streams for sampler noise and (later) dropout masks: the value of
//! element `i` at step `t` is a pure function of `(key, t, i)`.
//!
//! This module owns the generator and nothing else: it keeps no state besides the key, so a stream
//! cannot depend on how a buffer is split into chunks or threads, on the order of calls, or on
//! whether a run was resumed. It must not read global state (the only process-wide thing it
//! consults is which SIMD instructions the CPU has, and every instruction set gives the same
//! bits).
//!
//! # The counter
//! Elements are grouped in blocks of [`BLOCK`] = 32; block `b = ⌊i/32⌋` holds the 16 *pairs*
//! `j = 16b + (i mod 32) mod 16`, and lane `w = i mod 32` takes the first member of pair `j` if
//! `w < 16`, else the second. (Pairs are not interleaved, so a SIMD register of 16 pairs stores
//! its two outputs as two contiguous runs.) Each pair gets 64 random bits
//!
//! ```text
//! base(key, t) = mix(mix(key ⊕ D) ⊕ t·0xD1B54A32D192ED03)      D separates normals from uniforms
//! h_j          = mix(base + j·γ),  γ = 0x9E3779B97F4A7C15 (mod 2⁶⁴)
//! mix(z)       = SplitMix64's finaliser (Steele, Lea & Flood 2014; Stafford's "Mix13"):
//!                z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9;  z ← (z ⊕ z≫27)·0x94D049BB133111EB;  z ⊕ z≫31
//! ```
//! For a fixed `(key, t)` the pairs are exactly the SplitMix64 sequence seeded at `base` (a
//! generator that passes TestU01's BigCrush), so within one step the 64-bit words never repeat
//! (`j ↦ h_j` is a bijection). Different steps and keys start the same Weyl sequence at
//! pseudo-random offsets `base`; two streams of n pairs overlap only if their offsets fall within
//! n·γ of each other, probability ≈ 2n/2⁶⁴ per pair of streams — for 10⁶-element steps and 10¹⁰
//! pairs of steps about 10⁻³ over a whole study. Counter-based generators of this kind (Salmon et
//! al. 2011, "Parallel random numbers: as easy as 1, 2, 3") are what make the values independent
//! of chunking; Philox4×32-10 would be the heavier, more conservative choice (about 5× the
//! integer work per normal here).
//!
//! # Normals: Box–Muller on each pair
//! From the 64 bits of a pair, the low word gives the radius and the high word the angle:
//!
//! ```text
//! u = f32(lo | 1)/2³² ∈ [2⁻³², 1]                    r = √(−2 ln u)      (so |z| ≤ 6.66)
//! q = hi ≫ 30 (quadrant),  s = 1 + (hi mod 2²³)/2²³,  x = (s − 3/2)·π/2 ∈ [−π/4, π/4)
//! (z₁, z₂) = r·(cos φ, sin φ),  φ = x + q·π/2        (cos φ, sin φ) from (cos x, sin x) by a
//!                                                     swap and sign flips
//! ```
//! (`lo | 1` runs over the odd integers, so u takes the values (i + ½)·2⁻³¹ with equal
//! probability, rounded to f32.) The transcendental functions are written out in f32 with only
//! `+ − × √`, exact conversions and bit operations, so that every lane computes the same IEEE-754
//! operations in the same order and the result is **bitwise identical on every platform and
//! instruction set** (no library `ln`/`sin`, no fused multiply-add, no approximate reciprocal):
//! - ln u = (e − 32)·ln 2 + ln c_k + ln(1 + ρ), with f32(lo | 1) = 2^e·m, m ∈ [1, 2), c_k = 1 + k/8
//!   the nearest of nine points (a 9-entry table of 1/c_k and ln c_k, one register permute in
//!   SIMD), ρ = m/c_k − 1 ∈ [−1/16, 1/16], and ln(1 + ρ) by a degree-4 minimax polynomial (error
//!   2.5·10⁻⁸). Near u = 1 the terms (e − 32)·ln 2 = −ln 2 and ln c₈ = ln 2 cancel exactly and
//!   ρ = u − 1 is exact, so small radii keep their relative accuracy.
//! - sin x, cos x on [−π/4, π/4]: the minimax polynomials of Cephes' `sinf`/`cosf` (degree 7 and
//!   8; error about 10⁻⁷).
//!
//! Accuracy: against the same formulas in f64, |z − z_exact| ≤ 2·10⁻⁶ over 10⁶ pairs (a few f32
//! ulp at |z| ≈ 4–6), far below anything a test on fewer than 10¹² draws could see. What the
//! construction does not give: values beyond |z| = 6.66 (P(|Z| > 6.66) = 2.7·10⁻¹¹) and radii
//! finer than f32's spacing near u = 1 (the smallest non-zero r is 3.5·10⁻⁴).
//!
//! # Uniforms
//! [`UniformStream`] uses the same counter with another domain constant D; element i takes the
//! low (w < 16) or high word of its pair: u = (word ≫ 8)·2⁻²⁴ ∈ [0, 1), every multiple of 2⁻²⁴
//! equally likely. Use different keys (or these different streams) for noise and masks: the
//! domain constant makes `NormalStream(k)` and `UniformStream(k)` independent.
//!
//! # Speed
//! The block transform has three implementations of one generic algorithm — portable scalar
//! code, AVX2 (8 lanes, 64-bit multiply from 32-bit halves) and AVX-512 (16 lanes) — chosen at
//! run time from the CPU's features. Samplers fuse their update with the generation of each
//! block (the crate-internal `dispatch` and `Gen`), so noise needs no second buffer and one pass
//! over memory.
//! `bayeslab bench --sampling` measures the rate beside PyTorch's `torch.randn`.

use std::sync::OnceLock;

/// Elements per block of the counter layout (16 Box–Muller pairs).
pub const BLOCK: usize = 32;
/// Pairs per block.
const PAIRS: usize = BLOCK / 2;
/// The Weyl increment of SplitMix64 (2⁶⁴/φ, odd).
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
/// Odd multiplier spreading the step counter before it is mixed with the key.
const STEP_MUL: u64 = 0xd1b5_4a32_d192_ed03;
/// Domain constants: the same key gives independent normal and uniform streams.
const DOMAIN_NORMAL: u64 = 0x6e6f_726d_616c_5f31; // "normal_1"
const DOMAIN_UNIFORM: u64 = 0x756e_6966_6f72_6d31; // "uniform1"
const MIX1: u64 = 0xbf58_476d_1ce4_e5b9;
const MIX2: u64 = 0x94d0_49bb_1331_11eb;

/// SplitMix64's finaliser: a bijection of u64 with full avalanche.
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(MIX1);
    z = (z ^ (z >> 27)).wrapping_mul(MIX2);
    z ^ (z >> 31)
}

/// The SplitMix64 state of pair 0 of step `step`.
fn step_base(key: u64, step: u64, domain: u64) -> u64 {
    mix64(mix64(key ^ domain) ^ step.wrapping_mul(STEP_MUL))
}

/// The 64 bits of pair `j` of a step with base `base`.
#[inline(always)]
fn pair_bits(base: u64, j: u64) -> u64 {
    mix64(base.wrapping_add(j.wrapping_mul(GAMMA)))
}

/// Where element `index` lives: (pair, second member of the pair?).
fn locate(index: u64) -> (u64, bool) {
    let (block, lane) = (index / BLOCK as u64, (index % BLOCK as u64) as usize);
    (block * PAIRS as u64 + (lane % PAIRS) as u64, lane >= PAIRS)
}

/// A stream of standard normal numbers: `normal(t, i)` for step `t` and element `i`, a pure
/// function of `(key, t, i)` (see the module documentation for the algorithm and its accuracy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NormalStream {
    key: u64,
}

impl NormalStream {
    /// The stream with this key (derive keys with [`crate::rng::derive_seed`]).
    pub fn new(key: u64) -> Self {
        NormalStream { key }
    }

    /// The key.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Element `index` of step `step`, computed alone (the reference the block paths equal).
    pub fn normal(&self, step: u64, index: u64) -> f32 {
        let (pair, second) = locate(index);
        let h = pair_bits(self.base(step), pair);
        let (z1, z2) = box_muller::<Scalar>(h as u32, (h >> 32) as u32);
        if second { z2 } else { z1 }
    }

    /// `out[i] = normal(step, i)`.
    pub fn fill(&self, step: u64, out: &mut [f32]) {
        self.fill_at(step, 0, out);
    }

    /// `out[j] = normal(step, start + j)`: a chunk of a longer buffer, the same values whatever
    /// the chunking.
    pub fn fill_at(&self, step: u64, start: u64, out: &mut [f32]) {
        self.apply(Isa::detect(), step, start, out, None);
    }

    /// `out[i] += scale · normal(step, i)`, without a second buffer.
    pub fn add_scaled(&self, step: u64, out: &mut [f32], scale: f32) {
        self.add_scaled_at(step, 0, out, scale);
    }

    /// `out[j] += scale · normal(step, start + j)`.
    pub fn add_scaled_at(&self, step: u64, start: u64, out: &mut [f32], scale: f32) {
        self.apply(Isa::detect(), step, start, out, Some(scale));
    }

    /// The base of step `step`, for kernels that fuse generation with an update through
    /// [`Gen::normals`].
    pub(crate) fn base(&self, step: u64) -> u64 {
        step_base(self.key, step, DOMAIN_NORMAL)
    }

    /// [`fill_at`](Self::fill_at) (`scale` = None) or [`add_scaled_at`](Self::add_scaled_at)
    /// through a given instruction set.
    pub(crate) fn apply(
        &self,
        isa: Isa,
        step: u64,
        start: u64,
        out: &mut [f32],
        scale: Option<f32>,
    ) {
        let base = self.base(step);
        match scale {
            None => dispatch(
                isa,
                RangeKernel::<false, false> {
                    base,
                    start,
                    out,
                    scale: 0.0,
                },
            ),
            Some(scale) => dispatch(
                isa,
                RangeKernel::<true, false> {
                    base,
                    start,
                    out,
                    scale,
                },
            ),
        }
    }
}

/// A stream of uniform numbers in [0, 1) (multiples of 2⁻²⁴): `uniform(t, i)` a pure function of
/// `(key, t, i)`, independent of the [`NormalStream`] with the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UniformStream {
    key: u64,
}

impl UniformStream {
    /// The stream with this key.
    pub fn new(key: u64) -> Self {
        UniformStream { key }
    }

    /// The key.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Element `index` of step `step`, computed alone.
    pub fn uniform(&self, step: u64, index: u64) -> f32 {
        let (pair, second) = locate(index);
        let h = pair_bits(self.base(step), pair);
        let word = if second { (h >> 32) as u32 } else { h as u32 };
        uniform_from::<Scalar>(word)
    }

    /// `out[i] = uniform(step, i)`.
    pub fn fill(&self, step: u64, out: &mut [f32]) {
        self.fill_at(step, 0, out);
    }

    /// `out[j] = uniform(step, start + j)`.
    pub fn fill_at(&self, step: u64, start: u64, out: &mut [f32]) {
        self.fill_with(Isa::detect(), step, start, out);
    }

    pub(crate) fn fill_with(&self, isa: Isa, step: u64, start: u64, out: &mut [f32]) {
        let base = self.base(step);
        dispatch(
            isa,
            RangeKernel::<false, true> {
                base,
                start,
                out,
                scale: 0.0,
            },
        );
    }

    /// The base of step `step`, for [`Gen::uniforms`].
    pub(crate) fn base(&self, step: u64) -> u64 {
        step_base(self.key, step, DOMAIN_UNIFORM)
    }
}

/// Fills (or, with `ADD`, adds `scale ×`) normals (or, with `UNIFORM`, uniforms) of elements
/// `start..start + out.len()`.
struct RangeKernel<'a, const ADD: bool, const UNIFORM: bool> {
    base: u64,
    start: u64,
    out: &'a mut [f32],
    scale: f32,
}

impl<const ADD: bool, const UNIFORM: bool> RangeKernel<'_, ADD, UNIFORM> {
    #[inline(always)]
    fn block<G: Gen>(base: u64, block: u64, out: &mut [f32; BLOCK]) {
        if UNIFORM {
            G::uniforms(base, block, out);
        } else {
            G::normals(base, block, out);
        }
    }

    #[inline(always)]
    fn put(out: &mut [f32], z: &[f32], scale: f32) {
        for (o, &z) in out.iter_mut().zip(z) {
            if ADD {
                *o += scale * z;
            } else {
                *o = z;
            }
        }
    }
}

impl<const ADD: bool, const UNIFORM: bool> Kernel for RangeKernel<'_, ADD, UNIFORM> {
    #[inline(always)]
    fn run<G: Gen>(self) {
        let RangeKernel {
            base,
            start,
            mut out,
            scale,
        } = self;
        let mut z = [0.0f32; BLOCK];
        let mut block = start / BLOCK as u64;
        // A head that starts inside a block.
        let offset = (start % BLOCK as u64) as usize;
        if offset != 0 && !out.is_empty() {
            Self::block::<G>(base, block, &mut z);
            let k = (BLOCK - offset).min(out.len());
            let (head, rest) = out.split_at_mut(k);
            Self::put(head, &z[offset..offset + k], scale);
            out = rest;
            block += 1;
        }
        let mut chunks = out.chunks_exact_mut(BLOCK);
        for chunk in &mut chunks {
            let chunk: &mut [f32; BLOCK] = chunk.try_into().expect("exact chunk");
            if ADD {
                Self::block::<G>(base, block, &mut z);
                Self::put(chunk, &z, scale);
            } else {
                Self::block::<G>(base, block, chunk);
            }
            block += 1;
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            Self::block::<G>(base, block, &mut z);
            let k = tail.len();
            Self::put(tail, &z[..k], scale);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Instruction sets and dispatch.

/// The instruction set a kernel runs with. All give bitwise identical results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust, one pair at a time (any platform).
    Portable,
    /// x86-64 AVX2: 8 pairs per register.
    Avx2,
    /// x86-64 AVX-512 (F, DQ, VL, BW): 16 pairs per register.
    Avx512,
}

impl Isa {
    /// The fastest instruction set this CPU has (detected once).
    pub fn detect() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            [Isa::Avx512, Isa::Avx2]
                .into_iter()
                .find(|isa| isa.available())
                .unwrap_or(Isa::Portable)
        })
    }

    /// Whether this CPU can run `self`.
    pub fn available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// `"portable"`, `"avx2"` or `"avx512"`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

/// A block generator: the normals or uniforms of one block of a step, written into `out`
/// (element `BLOCK·block + w` goes to `out[w]`). Implemented once per instruction set.
pub(crate) trait Gen {
    fn normals(base: u64, block: u64, out: &mut [f32; BLOCK]);
    fn uniforms(base: u64, block: u64, out: &mut [f32; BLOCK]);
}

/// A loop over a buffer that calls a [`Gen`]. [`dispatch`] compiles `run` once per instruction
/// set (with the matching target features enabled), so the loop around the generator is
/// vectorised with the same instructions. `run` must be `#[inline(always)]`.
pub(crate) trait Kernel {
    fn run<G: Gen>(self);
}

/// Runs `kernel` with `isa` if the CPU has it, else with the best set it has ([`Isa::detect`]
/// order), else portably.
pub(crate) fn dispatch<K: Kernel>(isa: Isa, kernel: K) {
    #[cfg(target_arch = "x86_64")]
    {
        let isa = if isa.available() { isa } else { Isa::detect() };
        match isa {
            // SAFETY: the CPU has the features (checked just above).
            Isa::Avx512 => return unsafe { x86::run_avx512(kernel) },
            Isa::Avx2 => return unsafe { x86::run_avx2(kernel) },
            Isa::Portable => {}
        }
    }
    let _ = isa;
    kernel.run::<Portable>();
}

// ---------------------------------------------------------------------------------------------
// The transform, once, over lane types.

/// The lane operations of the transform, implemented for one lane and for SIMD registers. Each
/// method is one IEEE-754 operation (or an exact bit operation), so every implementation gives
/// the same bits.
trait Lanes {
    type F: Copy;
    type U: Copy;
    fn splat(x: f32) -> Self::F;
    fn splat_u(x: u32) -> Self::U;
    fn add(a: Self::F, b: Self::F) -> Self::F;
    fn sub(a: Self::F, b: Self::F) -> Self::F;
    fn mul(a: Self::F, b: Self::F) -> Self::F;
    fn sqrt(a: Self::F) -> Self::F;
    /// Lanes below 2³¹ to f32, rounding to nearest.
    fn to_f(a: Self::U) -> Self::F;
    /// Unsigned lanes to f32, rounding to nearest (ties to even).
    fn to_f_unsigned(a: Self::U) -> Self::F;
    /// ⌊log₂ a⌋ as f32, for positive normal lanes.
    fn exponent(a: Self::F) -> Self::F;
    /// a/2^⌊log₂ a⌋ ∈ [1, 2), for positive normal lanes.
    fn mantissa(a: Self::F) -> Self::F;
    /// Non-negative lanes to integers, truncating.
    fn trunc(a: Self::F) -> Self::U;
    fn bits(a: Self::F) -> Self::U;
    fn from_bits(a: Self::U) -> Self::F;
    fn and(a: Self::U, b: Self::U) -> Self::U;
    fn or(a: Self::U, b: Self::U) -> Self::U;
    fn xor(a: Self::U, b: Self::U) -> Self::U;
    fn shr<const N: u32>(a: Self::U) -> Self::U;
    fn shl<const N: u32>(a: Self::U) -> Self::U;
    /// `t[i]` per lane, for i ≤ 8.
    fn lookup(t: &[f32; 16], i: Self::U) -> Self::F;
    /// Per lane: `b` where bit 30 of `m` is set, else `a`.
    fn select_bit30(m: Self::U, a: Self::F, b: Self::F) -> Self::F;
}

/// 1/c_k for c_k = 1 + k/8, k = 0..=8, rounded to f32 (padded to a 16-entry register).
const INV_C: [f32; 16] = [
    1.0,
    0.888_888_9,
    0.8,
    0.727_272_75,
    0.666_666_7,
    0.615_384_64,
    0.571_428_6,
    0.533_333_36,
    0.5,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
];
/// ln c_k for c_k = 1 + k/8, rounded to f32; ln c₈ is the same f32 as `LN_2`.
const LN_C: [f32; 16] = [
    0.0,
    0.117_783_03,
    0.223_143_55,
    0.318_453_73,
    0.405_465_1,
    0.485_507_82,
    0.559_615_8,
    0.628_608_64,
    std::f32::consts::LN_2,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
];

/// Coefficients of ln(1 + ρ) ≈ ρ + ρ²(c₀ + ρ(c₁ + ρc₂)), a minimax fit of the absolute error on
/// [−1/16, 1/16] (Lawson's iteration on 4,001 Chebyshev points): max error 2.5e-8, 2.9e-8 when
/// evaluated in f32 — as good as the degree-5 Taylor polynomial with two operations fewer.
const LOG1P_C0: f32 = -0.499_998_66;
const LOG1P_C1: f32 = 0.334_014_03;
const LOG1P_C2: f32 = -0.250_994_12;

/// Box–Muller of one pair per lane (module documentation); `lo`, `hi` the pair's 32-bit words.
#[inline(always)]
fn box_muller<L: Lanes>(lo: L::U, hi: L::U) -> (L::F, L::F) {
    // u = x/2³² with x = lo | 1 rounded to f32: the odd integers of [1, 2³²), u ∈ [2⁻³², 1].
    let x = L::to_f_unsigned(L::or(lo, L::splat_u(1)));
    // x = 2^e·m, m ∈ [1, 2); k = round(8(m − 1)) ∈ 0..=8; ρ = m/c_k − 1 ∈ [−1/16, 1/16]
    let e = L::exponent(x);
    let m = L::mantissa(x);
    let k = L::trunc(L::sub(L::mul(m, L::splat(8.0)), L::splat(7.5)));
    let rho = L::sub(L::mul(m, L::lookup(&INV_C, k)), L::splat(1.0));
    // ln(1 + ρ) ≈ ρ + ρ²(c₀ + ρ(c₁ + ρc₂)), minimax on [−1/16, 1/16] (error 2.5e-8)
    let mut p = L::add(L::mul(rho, L::splat(LOG1P_C2)), L::splat(LOG1P_C1));
    p = L::add(L::mul(p, rho), L::splat(LOG1P_C0));
    let log1p = L::add(L::mul(p, L::mul(rho, rho)), rho);
    // ln u = ((e − 32)·ln 2 + ln c_k) + ln(1 + ρ)
    let e_ln2 = L::mul(L::sub(e, L::splat(32.0)), L::splat(std::f32::consts::LN_2));
    let ln_u = L::add(L::add(e_ln2, L::lookup(&LN_C, k)), log1p);
    let radius = L::sqrt(L::mul(ln_u, L::splat(-2.0)));
    // x = (s − 3/2)·π/2 ∈ [−π/4, π/4), s ∈ [1, 2) from the low 23 bits of hi
    let s = L::from_bits(L::or(
        L::and(hi, L::splat_u(0x007f_ffff)),
        L::splat_u(0x3f80_0000),
    ));
    let x = L::mul(
        L::sub(s, L::splat(1.5)),
        L::splat(std::f32::consts::FRAC_PI_2),
    );
    let x2 = L::mul(x, x);
    // Cephes sinf: x + x³(−1.6666654611e-1 + x²(8.3321608736e-3 + x²·(−1.9515295891e-4)))
    let mut ps = L::add(
        L::mul(x2, L::splat(-1.951_529_6e-4)),
        L::splat(8.332_161e-3),
    );
    ps = L::add(L::mul(ps, x2), L::splat(-1.666_665_5e-1));
    let sin = L::add(L::mul(L::mul(x, x2), ps), x);
    // Cephes cosf: 1 − x²/2 + x⁴(4.166664568e-2 + x²(−1.388731625e-3 + x²·2.443315712e-5))
    let mut pc = L::add(
        L::mul(x2, L::splat(2.443_315_7e-5)),
        L::splat(-1.388_731_6e-3),
    );
    pc = L::add(L::mul(pc, x2), L::splat(4.166_664_6e-2));
    let cos = L::add(
        L::sub(L::splat(1.0), L::mul(x2, L::splat(0.5))),
        L::mul(L::mul(x2, x2), pc),
    );
    // φ = x + qπ/2 for q = hi ≫ 30: q = 0 (cos, sin), 1 (−sin, cos), 2 (−cos, −sin),
    // 3 (sin, −cos). Bit 30 (q's low bit) swaps; the first sign flips for q ∈ {1, 2}
    // (bit 31 ⊕ bit 30), the second for q ∈ {2, 3} (bit 31).
    let a = L::select_bit30(hi, cos, sin);
    let b = L::select_bit30(hi, sin, cos);
    let sign = L::splat_u(0x8000_0000);
    let flip1 = L::and(L::xor(hi, L::shl::<1>(hi)), sign);
    let flip2 = L::and(hi, sign);
    let z1 = L::from_bits(L::xor(L::bits(L::mul(radius, a)), flip1));
    let z2 = L::from_bits(L::xor(L::bits(L::mul(radius, b)), flip2));
    (z1, z2)
}

/// A uniform in [0, 1) from a 32-bit word: (word ≫ 8)·2⁻²⁴.
#[inline(always)]
fn uniform_from<L: Lanes>(word: L::U) -> L::F {
    L::mul(L::to_f(L::shr::<8>(word)), L::splat(1.0 / 16_777_216.0))
}

/// One lane.
struct Scalar;

impl Lanes for Scalar {
    type F = f32;
    type U = u32;
    #[inline(always)]
    fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn splat_u(x: u32) -> u32 {
        x
    }
    #[inline(always)]
    fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn sqrt(a: f32) -> f32 {
        a.sqrt()
    }
    #[inline(always)]
    fn to_f(a: u32) -> f32 {
        a as i32 as f32
    }
    #[inline(always)]
    fn to_f_unsigned(a: u32) -> f32 {
        a as f32
    }
    #[inline(always)]
    fn exponent(a: f32) -> f32 {
        ((a.to_bits() >> 23) as i32 - 127) as f32
    }
    #[inline(always)]
    fn mantissa(a: f32) -> f32 {
        f32::from_bits((a.to_bits() & 0x007f_ffff) | 0x3f80_0000)
    }
    #[inline(always)]
    fn trunc(a: f32) -> u32 {
        a as i32 as u32
    }
    #[inline(always)]
    fn bits(a: f32) -> u32 {
        a.to_bits()
    }
    #[inline(always)]
    fn from_bits(a: u32) -> f32 {
        f32::from_bits(a)
    }
    #[inline(always)]
    fn and(a: u32, b: u32) -> u32 {
        a & b
    }
    #[inline(always)]
    fn or(a: u32, b: u32) -> u32 {
        a | b
    }
    #[inline(always)]
    fn xor(a: u32, b: u32) -> u32 {
        a ^ b
    }
    #[inline(always)]
    fn shr<const N: u32>(a: u32) -> u32 {
        a >> N
    }
    #[inline(always)]
    fn shl<const N: u32>(a: u32) -> u32 {
        a << N
    }
    #[inline(always)]
    fn lookup(t: &[f32; 16], i: u32) -> f32 {
        t[(i & 15) as usize]
    }
    #[inline(always)]
    fn select_bit30(m: u32, a: f32, b: f32) -> f32 {
        if m & (1 << 30) != 0 { b } else { a }
    }
}

/// The portable block generator: one pair at a time.
pub(crate) struct Portable;

impl Gen for Portable {
    #[inline(always)]
    fn normals(base: u64, block: u64, out: &mut [f32; BLOCK]) {
        let first = block.wrapping_mul(PAIRS as u64);
        let (a, b) = out.split_at_mut(PAIRS);
        for (k, (a, b)) in a.iter_mut().zip(b).enumerate() {
            let h = pair_bits(base, first.wrapping_add(k as u64));
            (*a, *b) = box_muller::<Scalar>(h as u32, (h >> 32) as u32);
        }
    }

    #[inline(always)]
    fn uniforms(base: u64, block: u64, out: &mut [f32; BLOCK]) {
        let first = block.wrapping_mul(PAIRS as u64);
        let (a, b) = out.split_at_mut(PAIRS);
        for (k, (a, b)) in a.iter_mut().zip(b).enumerate() {
            let h = pair_bits(base, first.wrapping_add(k as u64));
            *a = uniform_from::<Scalar>(h as u32);
            *b = uniform_from::<Scalar>((h >> 32) as u32);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX2 and AVX-512 lane types and block generators. Every intrinsic used is exact
    //! (no FMA, no approximate reciprocal or square root).

    use super::{BLOCK, GAMMA, Gen, Kernel, Lanes, MIX1, MIX2, PAIRS, box_muller, uniform_from};
    use std::arch::x86_64::*;

    /// Runs a kernel compiled for AVX-512.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, DQ, VL and BW.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    pub(super) unsafe fn run_avx512<K: Kernel>(kernel: K) {
        kernel.run::<Avx512>();
    }

    /// Runs a kernel compiled for AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_avx2<K: Kernel>(kernel: K) {
        kernel.run::<Avx2>();
    }

    /// The per-lane offsets k·γ of pairs k = 0..16 of a block.
    const OFFSETS: [u64; PAIRS] = {
        let mut o = [0u64; PAIRS];
        let mut k = 0;
        while k < PAIRS {
            o[k] = (k as u64).wrapping_mul(GAMMA);
            k += 1;
        }
        o
    };

    // The methods below are only ever inlined into `run_avx512` / `run_avx2`, whose target
    // features make the intrinsics available; `unsafe` blocks mark that contract.

    pub(crate) struct Avx512;

    impl Lanes for Avx512 {
        type F = __m512;
        type U = __m512i;
        #[inline(always)]
        fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        fn splat_u(x: u32) -> __m512i {
            unsafe { _mm512_set1_epi32(x as i32) }
        }
        #[inline(always)]
        fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        fn sqrt(a: __m512) -> __m512 {
            unsafe { _mm512_sqrt_ps(a) }
        }
        #[inline(always)]
        fn to_f(a: __m512i) -> __m512 {
            unsafe { _mm512_cvtepi32_ps(a) }
        }
        #[inline(always)]
        fn to_f_unsigned(a: __m512i) -> __m512 {
            unsafe { _mm512_cvtepu32_ps(a) }
        }
        #[inline(always)]
        fn exponent(a: __m512) -> __m512 {
            unsafe { _mm512_getexp_ps(a) }
        }
        #[inline(always)]
        fn mantissa(a: __m512) -> __m512 {
            unsafe { _mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(a) }
        }
        #[inline(always)]
        fn trunc(a: __m512) -> __m512i {
            unsafe { _mm512_cvttps_epi32(a) }
        }
        #[inline(always)]
        fn bits(a: __m512) -> __m512i {
            unsafe { _mm512_castps_si512(a) }
        }
        #[inline(always)]
        fn from_bits(a: __m512i) -> __m512 {
            unsafe { _mm512_castsi512_ps(a) }
        }
        #[inline(always)]
        fn and(a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_and_si512(a, b) }
        }
        #[inline(always)]
        fn or(a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_or_si512(a, b) }
        }
        #[inline(always)]
        fn xor(a: __m512i, b: __m512i) -> __m512i {
            unsafe { _mm512_xor_si512(a, b) }
        }
        #[inline(always)]
        fn shr<const N: u32>(a: __m512i) -> __m512i {
            unsafe { _mm512_srli_epi32::<N>(a) }
        }
        #[inline(always)]
        fn shl<const N: u32>(a: __m512i) -> __m512i {
            unsafe { _mm512_slli_epi32::<N>(a) }
        }
        #[inline(always)]
        fn lookup(t: &[f32; 16], i: __m512i) -> __m512 {
            unsafe { _mm512_permutexvar_ps(i, _mm512_loadu_ps(t.as_ptr())) }
        }
        #[inline(always)]
        fn select_bit30(m: __m512i, a: __m512, b: __m512) -> __m512 {
            unsafe {
                let k = _mm512_test_epi32_mask(m, _mm512_set1_epi32(1 << 30));
                _mm512_mask_blend_ps(k, a, b)
            }
        }
    }

    /// SplitMix64's finaliser on 8 lanes (AVX-512 DQ has the 64-bit multiply).
    #[inline(always)]
    fn mix64x8(z: __m512i) -> __m512i {
        unsafe {
            let z = _mm512_xor_si512(z, _mm512_srli_epi64::<30>(z));
            let z = _mm512_mullo_epi64(z, _mm512_set1_epi64(MIX1 as i64));
            let z = _mm512_xor_si512(z, _mm512_srli_epi64::<27>(z));
            let z = _mm512_mullo_epi64(z, _mm512_set1_epi64(MIX2 as i64));
            _mm512_xor_si512(z, _mm512_srli_epi64::<31>(z))
        }
    }

    /// The 16 pairs of a block: (low words, high words), pair k in lane k.
    #[inline(always)]
    fn words512(base: u64, block: u64) -> (__m512i, __m512i) {
        unsafe {
            let start = base.wrapping_add(block.wrapping_mul(PAIRS as u64).wrapping_mul(GAMMA));
            let s = _mm512_set1_epi64(start as i64);
            let o = OFFSETS.as_ptr().cast::<__m512i>();
            let h0 = mix64x8(_mm512_add_epi64(s, _mm512_loadu_si512(o)));
            let h1 = mix64x8(_mm512_add_epi64(s, _mm512_loadu_si512(o.add(1))));
            let even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
            let odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
            (
                _mm512_permutex2var_epi32(h0, even, h1),
                _mm512_permutex2var_epi32(h0, odd, h1),
            )
        }
    }

    impl Gen for Avx512 {
        #[inline(always)]
        fn normals(base: u64, block: u64, out: &mut [f32; BLOCK]) {
            let (lo, hi) = words512(base, block);
            let (z1, z2) = box_muller::<Avx512>(lo, hi);
            unsafe {
                _mm512_storeu_ps(out.as_mut_ptr(), z1);
                _mm512_storeu_ps(out.as_mut_ptr().add(PAIRS), z2);
            }
        }

        #[inline(always)]
        fn uniforms(base: u64, block: u64, out: &mut [f32; BLOCK]) {
            let (lo, hi) = words512(base, block);
            unsafe {
                _mm512_storeu_ps(out.as_mut_ptr(), uniform_from::<Avx512>(lo));
                _mm512_storeu_ps(out.as_mut_ptr().add(PAIRS), uniform_from::<Avx512>(hi));
            }
        }
    }

    pub(crate) struct Avx2;

    impl Lanes for Avx2 {
        type F = __m256;
        type U = __m256i;
        #[inline(always)]
        fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        fn splat_u(x: u32) -> __m256i {
            unsafe { _mm256_set1_epi32(x as i32) }
        }
        #[inline(always)]
        fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        fn sqrt(a: __m256) -> __m256 {
            unsafe { _mm256_sqrt_ps(a) }
        }
        #[inline(always)]
        fn to_f(a: __m256i) -> __m256 {
            unsafe { _mm256_cvtepi32_ps(a) }
        }
        #[inline(always)]
        fn to_f_unsigned(a: __m256i) -> __m256 {
            // AVX2 converts only signed lanes: hi·2¹⁶ + lo with both halves exact, so the one
            // rounding is that of the sum, the correctly rounded value.
            unsafe {
                let hi = _mm256_cvtepi32_ps(_mm256_srli_epi32::<16>(a));
                let lo = _mm256_cvtepi32_ps(_mm256_and_si256(a, _mm256_set1_epi32(0xffff)));
                _mm256_add_ps(_mm256_mul_ps(hi, _mm256_set1_ps(65_536.0)), lo)
            }
        }
        #[inline(always)]
        fn exponent(a: __m256) -> __m256 {
            unsafe {
                let e = _mm256_srli_epi32::<23>(_mm256_castps_si256(a));
                _mm256_cvtepi32_ps(_mm256_sub_epi32(e, _mm256_set1_epi32(127)))
            }
        }
        #[inline(always)]
        fn mantissa(a: __m256) -> __m256 {
            unsafe {
                let m = _mm256_and_si256(_mm256_castps_si256(a), _mm256_set1_epi32(0x007f_ffff));
                _mm256_castsi256_ps(_mm256_or_si256(m, _mm256_set1_epi32(0x3f80_0000)))
            }
        }
        #[inline(always)]
        fn trunc(a: __m256) -> __m256i {
            unsafe { _mm256_cvttps_epi32(a) }
        }
        #[inline(always)]
        fn bits(a: __m256) -> __m256i {
            unsafe { _mm256_castps_si256(a) }
        }
        #[inline(always)]
        fn from_bits(a: __m256i) -> __m256 {
            unsafe { _mm256_castsi256_ps(a) }
        }
        #[inline(always)]
        fn and(a: __m256i, b: __m256i) -> __m256i {
            unsafe { _mm256_and_si256(a, b) }
        }
        #[inline(always)]
        fn or(a: __m256i, b: __m256i) -> __m256i {
            unsafe { _mm256_or_si256(a, b) }
        }
        #[inline(always)]
        fn xor(a: __m256i, b: __m256i) -> __m256i {
            unsafe { _mm256_xor_si256(a, b) }
        }
        #[inline(always)]
        fn shr<const N: u32>(a: __m256i) -> __m256i {
            // The shift count as a register: LLVM folds the constant into an immediate shift.
            unsafe { _mm256_srl_epi32(a, _mm_cvtsi32_si128(N as i32)) }
        }
        #[inline(always)]
        fn shl<const N: u32>(a: __m256i) -> __m256i {
            unsafe { _mm256_sll_epi32(a, _mm_cvtsi32_si128(N as i32)) }
        }
        #[inline(always)]
        fn lookup(t: &[f32; 16], i: __m256i) -> __m256 {
            unsafe {
                // Entries 0..8 by a register permute (index 8 wraps to 0), then entry 8 blended in.
                let first = _mm256_permutevar8x32_ps(_mm256_loadu_ps(t.as_ptr()), i);
                let is8 = _mm256_castsi256_ps(_mm256_cmpeq_epi32(i, _mm256_set1_epi32(8)));
                _mm256_blendv_ps(first, _mm256_set1_ps(t[8]), is8)
            }
        }
        #[inline(always)]
        fn select_bit30(m: __m256i, a: __m256, b: __m256) -> __m256 {
            // blendv picks by the sign bit; shift bit 30 there.
            unsafe { _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32::<1>(m))) }
        }
    }

    /// a·c mod 2⁶⁴ on 4 lanes from 32-bit products (AVX2 has no 64-bit multiply).
    #[inline(always)]
    fn mullo64(a: __m256i, c: u64) -> __m256i {
        unsafe {
            let c_lo = _mm256_set1_epi64x((c & 0xffff_ffff) as i64);
            let c_hi = _mm256_set1_epi64x((c >> 32) as i64);
            let lo_lo = _mm256_mul_epu32(a, c_lo);
            let hi_lo = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), c_lo);
            let lo_hi = _mm256_mul_epu32(a, c_hi);
            let cross = _mm256_slli_epi64::<32>(_mm256_add_epi64(hi_lo, lo_hi));
            _mm256_add_epi64(lo_lo, cross)
        }
    }

    #[inline(always)]
    fn mix64x4(z: __m256i) -> __m256i {
        unsafe {
            let z = _mm256_xor_si256(z, _mm256_srli_epi64::<30>(z));
            let z = mullo64(z, MIX1);
            let z = _mm256_xor_si256(z, _mm256_srli_epi64::<27>(z));
            let z = mullo64(z, MIX2);
            _mm256_xor_si256(z, _mm256_srli_epi64::<31>(z))
        }
    }

    /// Pairs `8·half .. 8·half + 8` of a block: (low words, high words), pair k in lane k − 8·half.
    #[inline(always)]
    fn words256(start: u64, half: usize) -> (__m256i, __m256i) {
        unsafe {
            let s = _mm256_set1_epi64x(start as i64);
            let o = OFFSETS.as_ptr().add(8 * half).cast::<__m256i>();
            let h0 = mix64x4(_mm256_add_epi64(s, _mm256_loadu_si256(o)));
            let h1 = mix64x4(_mm256_add_epi64(s, _mm256_loadu_si256(o.add(1))));
            let (a, b) = (_mm256_castsi256_ps(h0), _mm256_castsi256_ps(h1));
            // Within each 128-bit half: [a0 a1 b0 b1] words; then order the 64-bit chunks.
            let lo = _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(a, b));
            let hi = _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(a, b));
            (
                _mm256_permute4x64_epi64::<0b11_01_10_00>(lo),
                _mm256_permute4x64_epi64::<0b11_01_10_00>(hi),
            )
        }
    }

    impl Gen for Avx2 {
        #[inline(always)]
        fn normals(base: u64, block: u64, out: &mut [f32; BLOCK]) {
            let start = base.wrapping_add(block.wrapping_mul(PAIRS as u64).wrapping_mul(GAMMA));
            for half in 0..2 {
                let (lo, hi) = words256(start, half);
                let (z1, z2) = box_muller::<Avx2>(lo, hi);
                unsafe {
                    _mm256_storeu_ps(out.as_mut_ptr().add(8 * half), z1);
                    _mm256_storeu_ps(out.as_mut_ptr().add(PAIRS + 8 * half), z2);
                }
            }
        }

        #[inline(always)]
        fn uniforms(base: u64, block: u64, out: &mut [f32; BLOCK]) {
            let start = base.wrapping_add(block.wrapping_mul(PAIRS as u64).wrapping_mul(GAMMA));
            for half in 0..2 {
                let (lo, hi) = words256(start, half);
                unsafe {
                    _mm256_storeu_ps(out.as_mut_ptr().add(8 * half), uniform_from::<Avx2>(lo));
                    _mm256_storeu_ps(
                        out.as_mut_ptr().add(PAIRS + 8 * half),
                        uniform_from::<Avx2>(hi),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::{ContinuousCDF, Normal};

    /// Every instruction set this CPU has, portable first.
    fn isas() -> Vec<Isa> {
        [Isa::Portable, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|isa| isa.available())
            .collect()
    }

    fn normals(key: u64, step: u64, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n];
        NormalStream::new(key).fill(step, &mut out);
        out
    }

    #[test]
    fn every_instruction_set_gives_the_reference_bits() {
        let stream = NormalStream::new(0x5eed);
        let uniform = UniformStream::new(0x5eed);
        for isa in isas() {
            for (start, len) in [
                (0, 1000),
                (5, 1),
                (31, 2),
                (17, 100),
                (64, 64),
                (1 << 40, 77),
            ] {
                let mut out = vec![0.0f32; len];
                stream.apply(isa, 9, start, &mut out, None);
                let mut u = vec![0.0f32; len];
                uniform.fill_with(isa, 9, start, &mut u);
                for (j, (&z, &u)) in out.iter().zip(&u).enumerate() {
                    let i = start + j as u64;
                    assert_eq!(z.to_bits(), stream.normal(9, i).to_bits(), "{isa:?} {i}");
                    assert_eq!(u.to_bits(), uniform.uniform(9, i).to_bits(), "{isa:?} {i}");
                }
            }
        }
    }

    #[test]
    fn chunks_equal_one_fill() {
        let stream = NormalStream::new(11);
        let whole = normals(11, 3, 1234);
        // Uneven chunks that start inside blocks, as threads splitting a buffer would.
        let mut pieces = vec![0.0f32; 1234];
        let mut start = 0;
        for len in [1, 30, 33, 7, 64, 100, 999] {
            let end = (start + len).min(1234);
            stream.fill_at(3, start as u64, &mut pieces[start..end]);
            start = end;
        }
        assert_eq!(start, 1234);
        assert_eq!(pieces, whole);
        // The same for the fused add, and it equals x + scale·z bit for bit.
        let x: Vec<f32> = (0..1234).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut added = x.clone();
        stream.add_scaled(3, &mut added, 0.25);
        let mut added_chunks = x.clone();
        for (k, chunk) in added_chunks.chunks_mut(45).enumerate() {
            stream.add_scaled_at(3, 45 * k as u64, chunk, 0.25);
        }
        assert_eq!(added_chunks, added);
        for ((&a, &x), &z) in added.iter().zip(&x).zip(&whole) {
            assert_eq!(a.to_bits(), (x + 0.25 * z).to_bits());
        }
    }

    #[test]
    fn stream_values_are_pinned() {
        // A change of these values changes every stored sampler result: pinned on purpose.
        let s = NormalStream::new(2026);
        let got = [
            s.normal(0, 0),
            s.normal(0, 1),
            s.normal(0, 16),
            s.normal(7, 1_000_003),
        ];
        let u = UniformStream::new(2026);
        let got_u = [u.uniform(0, 0), u.uniform(0, 16), u.uniform(7, 1_000_003)];
        let want: [f32; 4] = PINNED_NORMALS;
        let want_u: [f32; 3] = PINNED_UNIFORMS;
        assert_eq!(got, want, "normals");
        assert_eq!(got_u, want_u, "uniforms");
    }
    const PINNED_NORMALS: [f32; 4] = [-0.738_414_94, 0.676_733_55, -1.189_430_4, -1.450_279_8];
    const PINNED_UNIFORMS: [f32; 3] = [0.997_697_1, 0.408_644_38, 0.481_037_68];

    #[test]
    fn tables_are_the_rounded_constants() {
        for k in 0..=8 {
            let c = 1.0 + k as f64 / 8.0;
            assert_eq!(INV_C[k], (1.0 / c) as f32, "1/c_{k}");
            assert_eq!(LN_C[k], c.ln() as f32, "ln c_{k}");
        }
    }

    /// The transform against the same formulas in f64 (exact ln, cos, sin of the same u and φ).
    #[test]
    fn box_muller_is_accurate_to_a_few_ulp() {
        let check = |h: u64| {
            let (lo, hi) = (h as u32, (h >> 32) as u32);
            let (z1, z2) = box_muller::<Scalar>(lo, hi);
            let u = f64::from((lo | 1) as f32) / 4_294_967_296.0;
            let r = (-2.0 * u.ln()).sqrt();
            let s = f64::from(hi & 0x007f_ffff) / 8_388_608.0;
            let x = (s - 0.5) * std::f64::consts::FRAC_PI_2;
            let phi = x + f64::from(hi >> 30) * std::f64::consts::FRAC_PI_2;
            let err = (f64::from(z1) - r * phi.cos())
                .abs()
                .max((f64::from(z2) - r * phi.sin()).abs());
            // 2e-6: a few f32 ulp at |z| ≈ 6 (ulp 4.8e-7); measured worst 1.2e-6 over 2e7 pairs.
            assert!(err <= 2e-6, "h = {h:#x}: error {err:e}");
            (z1, z2)
        };
        for j in 0..1_000_000u64 {
            check(pair_bits(42, j));
        }
        // Extremes: the smallest u gives the largest radius; u = 1 gives 0.
        let (z1, z2) = check(0);
        let radius = f64::from(z1).hypot(f64::from(z2));
        assert!(
            (radius - (64.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-5,
            "{radius}"
        );
        let (z1, z2) = check(0xffff_ffff);
        assert_eq!((z1, z2), (0.0, 0.0));
        for word in [
            0x4000_0000u64,
            0x8000_0000,
            0xc000_0000,
            0x007f_ffff,
            0xc07f_ffff,
        ] {
            check((word << 32) | 0x1234_5678);
        }
    }

    /// Sample mean, variance and the Kolmogorov–Smirnov statistic of 2²⁰ normals (8 steps of 2¹⁷
    /// elements). The stream is fixed, so the test is deterministic; the bounds are those a true
    /// N(0, 1) sample would break with probability about 10⁻⁴ each: |mean| < 4/√n,
    /// |var − 1| < 4√(2/n), and D < 1.95/√n (the asymptotic 0.1% critical value of KS).
    #[test]
    fn normals_match_the_standard_normal() {
        let mut all = Vec::with_capacity(1 << 20);
        for step in 0..8 {
            all.extend(normals(77, step, 1 << 17));
        }
        let n = all.len() as f64;
        let mean = all.iter().map(|&z| f64::from(z)).sum::<f64>() / n;
        let var = all
            .iter()
            .map(|&z| (f64::from(z) - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "variance {var}");
        let d = ks_statistic(&mut all, |x| Normal::standard().cdf(x));
        assert!(
            d < 1.95 / n.sqrt(),
            "KS D = {d}, critical {}",
            1.95 / n.sqrt()
        );
        // The tails: P(|Z| > 3) = 0.0026998; binomial standard error √(p(1 − p)/n) = 5.1e-5.
        let tail = all.iter().filter(|z| z.abs() > 3.0).count() as f64 / n;
        assert!(
            (tail - 0.002_699_8).abs() < 4.0 * 5.1e-5,
            "P(|z| > 3) = {tail}"
        );
    }

    #[test]
    fn uniforms_match_the_unit_interval() {
        let u = UniformStream::new(5);
        let mut all = vec![0.0f32; 1 << 20];
        u.fill(0, &mut all);
        assert!(all.iter().all(|&x| (0.0..1.0).contains(&x)));
        let n = all.len() as f64;
        let mean = all.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        // Var(U) = 1/12, so the mean's standard error is √(1/(12n)).
        assert!(
            (mean - 0.5).abs() < 4.0 * (1.0 / (12.0 * n)).sqrt(),
            "mean {mean}"
        );
        let d = ks_statistic(&mut all, |x| x.clamp(0.0, 1.0));
        assert!(d < 1.95 / n.sqrt(), "KS D = {d}");
    }

    /// Pearson correlations between streams that must be independent: other keys, other steps,
    /// neighbouring elements, the two members of a Box–Muller pair (elements i and i + 16), and
    /// normals against the uniforms of the same key. For independent samples of n = 2¹⁸ the
    /// correlation has standard deviation 1/√n, so |r| < 4/√n.
    #[test]
    fn streams_are_uncorrelated() {
        let n = 1 << 18;
        let base = normals(1, 0, n + 32);
        let u: Vec<f32> = {
            let mut u = vec![0.0; n];
            UniformStream::new(1).fill(0, &mut u);
            u
        };
        let cases: Vec<(&str, Vec<f32>, Vec<f32>)> = vec![
            ("key 1 vs key 2", base[..n].to_vec(), normals(2, 0, n)),
            ("step 0 vs step 1", base[..n].to_vec(), normals(1, 1, n)),
            (
                "element i vs i + 1",
                base[..n].to_vec(),
                base[1..n + 1].to_vec(),
            ),
            (
                "pair members",
                pair_members(&base, 0),
                pair_members(&base, PAIRS),
            ),
            ("normal vs uniform", base[..n].to_vec(), u),
            (
                "squares, step 0 vs 1",
                squares(&base[..n]),
                squares(&normals(1, 1, n)),
            ),
            (
                "squares, pair members",
                squares(&pair_members(&base, 0)),
                squares(&pair_members(&base, PAIRS)),
            ),
        ];
        for (what, a, b) in cases {
            let r = correlation(&a, &b);
            let bound = 4.0 / (a.len() as f64).sqrt();
            assert!(r.abs() < bound, "{what}: r = {r}, bound {bound}");
        }
    }

    /// The first (offset 0) or second (offset 16) members of every pair.
    fn pair_members(z: &[f32], offset: usize) -> Vec<f32> {
        z.chunks_exact(BLOCK)
            .flat_map(|b| b[offset..offset + PAIRS].to_vec())
            .collect()
    }

    fn squares(z: &[f32]) -> Vec<f32> {
        z.iter().map(|z| z * z).collect()
    }

    fn correlation(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mean = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let (ma, mb) = (mean(a), mean(b));
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
            sab += x * y;
            saa += x * x;
            sbb += y * y;
        }
        sab / (saa * sbb).sqrt()
    }

    /// sup |F_n − F| of a sample (sorted in place).
    fn ks_statistic(sample: &mut [f32], cdf: impl Fn(f64) -> f64) -> f64 {
        sample.sort_by(f32::total_cmp);
        let n = sample.len() as f64;
        sample
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(f64::from(x));
                (f - i as f64 / n).max((i + 1) as f64 / n - f)
            })
            .fold(0.0, f64::max)
    }
}
