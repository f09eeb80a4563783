//! Matrix multiplication on row-major slices, and the scalar trait the numeric core is generic over.
//!
//! `C ← α·op(A)·op(B) + β·C` with `op(X) = X` or `Xᵀ`, all matrices row-major with leading
//! dimensions (row strides) `lda`, `ldb`, `ldc`. Two backends:
//! - system OpenBLAS `cblas_sgemm`: lowest call overhead, no allocation; fastest for the small
//!   products of small networks and small batches;
//! - the pure-Rust `matrixmultiply` crate: its AVX-512 kernel beats OpenBLAS 0.3.21 on the larger
//!   products of this machine; large products are split over threads through rayon.
//!
//! [`sgemm`] picks by shape (thresholds [`SMALL_WORK`], [`NARROW_N`], [`NARROW_M`],
//! [`PARALLEL_WORK`], measured by `bench`); [`sgemm_blas`] and [`sgemm_mm`] force a backend. f64 (used by the gradient checks)
//! always goes through `matrixmultiply`.
//!
//! Reproducibility: both backends pick their kernels at run time from the CPU's features
//! (matrixmultiply: AVX-512, AVX2/FMA or SSE; OpenBLAS: its core for this CPU), and kernels add in
//! different orders, so a product is bit-for-bit the same only for the same build on the same kind
//! of CPU. On one machine it does not depend on [`blas_threads`]: the split over threads cuts C
//! into blocks and never the inner dimension.
//!
//! This module owns no buffers and never allocates.

use ndarray::NdFloat;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Products with `m·n·k` below this go to OpenBLAS, at or above it to `matrixmultiply`.
///
/// Measured on the 2-core reference machine (`bench`, one thread): below ~3·10⁴ multiply-adds
/// OpenBLAS's small-matrix path is up to twice as fast (matrixmultiply packs both operands and
/// allocates a packing buffer per call); from 32³ on, matrixmultiply's AVX-512 kernel wins
/// (140–205 GFLOP/s on the wide-MLP shapes against OpenBLAS 0.3.21's 90–125, one thread).
pub const SMALL_WORK: usize = 1 << 15;

/// Products with fewer output columns than this go to OpenBLAS whatever their size: its kernels
/// handle a narrow C well, matrixmultiply's 16-wide tiles waste most of their lanes (measured on
/// 100×n×400 and 400×n×100: OpenBLAS 1.3–3× faster for n < 32, even at n = 32).
pub const NARROW_N: usize = 32;

/// Likewise for fewer output rows than this (1×400×100 to 4×400×100: OpenBLAS 1.2–1.6× faster;
/// from 8 rows on, matrixmultiply is).
pub const NARROW_M: usize = 8;

/// Products with at least this many multiply-adds (6.7·10⁷) are split across [`blas_threads`]
/// threads.
///
/// Measured on the 2-vCPU reference machine: the second vCPU adds little floating-point
/// throughput (two independent single-threaded 1024³ products together reach 1.0–1.45× of one
/// alone), and splitting the ≤ 3.1·10⁷-multiply-add products of the wide MLP made its steps
/// slightly slower (605–640 against 650–675 steps/s), so products of that size stay on one thread.
pub const PARALLEL_WORK: usize = 1 << 26;

/// Threads for large products: 0 until [`set_blas_threads`] is called (then OpenBLAS's own
/// default, the number of cores, applies).
static THREADS: AtomicUsize = AtomicUsize::new(0);

const CBLAS_ROW_MAJOR: c_int = 101;
const CBLAS_NO_TRANS: c_int = 111;
const CBLAS_TRANS: c_int = 112;

#[link(name = "openblas")]
unsafe extern "C" {
    fn cblas_sgemm(
        order: c_int,
        trans_a: c_int,
        trans_b: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f32,
        a: *const f32,
        lda: c_int,
        b: *const f32,
        ldb: c_int,
        beta: f32,
        c: *mut f32,
        ldc: c_int,
    );
    fn openblas_set_num_threads(n: c_int);
    fn openblas_get_num_threads() -> c_int;
}

/// Sets the number of threads a matrix product may use (process-wide): OpenBLAS's thread count
/// and the split of large `matrixmultiply` products over the rayon pool. The runner sets 1 when
/// runs execute in parallel, so that runs do not oversubscribe the cores; a single big run may use
/// all cores.
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, 1024);
    THREADS.store(n, Ordering::Relaxed);
    // SAFETY: plain setter of OpenBLAS's global thread count.
    unsafe { openblas_set_num_threads(n as c_int) }
}

/// The number of threads a matrix product may use (see [`set_blas_threads`]).
pub fn blas_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        // SAFETY: plain getter.
        0 => unsafe { openblas_get_num_threads() }.max(1) as usize,
        n => n,
    }
}

/// Checks that the slices hold the matrices the arguments describe (once per call, so that the
/// backends may index without checks).
#[allow(clippy::too_many_arguments)]
fn check_dims<T>(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    c: &[T],
    ldc: usize,
) {
    // Stored shapes (rows × cols) of A and B, row-major.
    let (ar, ac) = if trans_a { (k, m) } else { (m, k) };
    let (br, bc) = if trans_b { (n, k) } else { (k, n) };
    let need = |rows: usize, cols: usize, ld: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * ld + cols
        }
    };
    assert!(
        lda >= ac.max(1) && ldb >= bc.max(1) && ldc >= n.max(1),
        "gemm: leading dimension too small"
    );
    assert!(a.len() >= need(ar, ac, lda), "gemm: A is too short");
    assert!(b.len() >= need(br, bc, ldb), "gemm: B is too short");
    assert!(c.len() >= need(m, n, ldc), "gemm: C is too short");
}

/// Row and column strides of a stored row-major matrix seen through `op`.
fn strides(trans: bool, ld: usize) -> (isize, isize) {
    if trans {
        (1, ld as isize)
    } else {
        (ld as isize, 1)
    }
}

/// `C ← α·op(A)·op(B) + β·C` in f32, row-major; dispatches by shape between OpenBLAS (work below
/// [`SMALL_WORK`], or fewer than [`NARROW_N`] columns or [`NARROW_M`] rows) and `matrixmultiply`
/// (split over [`blas_threads`] threads from [`PARALLEL_WORK`]). With `β = 0`, `C` is overwritten and need not be initialised.
///
/// `op(A)` is `m×k`, `op(B)` is `k×n`, `C` is `m×n`. Panics if a slice is too short.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    if n < NARROW_N || m < NARROW_M || m.saturating_mul(n).saturating_mul(k) < SMALL_WORK {
        sgemm_blas(
            trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
        )
    } else {
        sgemm_mm(
            trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
        )
    }
}

/// [`sgemm`] always through `matrixmultiply`, split over [`blas_threads`] threads when the product
/// has at least [`PARALLEL_WORK`] multiply-adds.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_mm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    check_dims(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = strides(trans_a, lda);
    let (rsb, csb) = strides(trans_b, ldb);
    let threads = if m * n * k >= PARALLEL_WORK {
        blas_threads()
    } else {
        1
    };
    let op = MmOp {
        alpha,
        beta,
        k,
        a: Ptr(a.as_ptr() as *mut f32),
        rsa,
        csa,
        b: Ptr(b.as_ptr() as *mut f32),
        rsb,
        csb,
        c: Ptr(c.as_mut_ptr()),
        rsc: ldc as isize,
    };
    // SAFETY: check_dims proved every addressed element lies inside the slices; C does not alias
    // A or B (a &mut cannot alias a &); the parallel parts write disjoint blocks of C.
    unsafe { op.run(m, n, threads) }
}

/// A raw pointer that may cross to another thread (the blocks of C written are disjoint).
#[derive(Clone, Copy)]
struct Ptr(*mut f32);
// SAFETY: used only for the disjoint blocks of one matrix product, all joined before return.
unsafe impl Send for Ptr {}
unsafe impl Sync for Ptr {}

/// A `matrixmultiply` product in strided form, which can be split into blocks of C.
#[derive(Clone, Copy)]
struct MmOp {
    alpha: f32,
    beta: f32,
    k: usize,
    a: Ptr,
    rsa: isize,
    csa: isize,
    b: Ptr,
    rsb: isize,
    csb: isize,
    c: Ptr,
    rsc: isize,
}

impl MmOp {
    /// Computes the `m × n` block at the current origins with `threads` threads: splits the
    /// longer side of C in two parts (at a multiple of 16, the kernel tile) with work in
    /// proportion to the threads given to each, recursively, through `rayon::join`.
    ///
    /// # Safety
    /// The block must lie inside the matrices the pointers come from.
    unsafe fn run(self, m: usize, n: usize, threads: usize) {
        let split = |len: usize| (len * (threads / 2) / threads) / 16 * 16;
        if threads > 1 && m.max(n) >= 64 {
            let left = threads / 2;
            let (first, second) = if m >= n {
                let m1 = split(m);
                let mut lower = self;
                // SAFETY: m1 < m, so the offsets stay inside A and C.
                unsafe {
                    lower.a = Ptr(self.a.0.offset(m1 as isize * self.rsa));
                    lower.c = Ptr(self.c.0.offset(m1 as isize * self.rsc));
                }
                ((self, m1, n), (lower, m - m1, n))
            } else {
                let n1 = split(n);
                let mut right = self;
                // SAFETY: n1 < n, so the offsets stay inside B and C.
                unsafe {
                    right.b = Ptr(self.b.0.offset(n1 as isize * self.csb));
                    right.c = Ptr(self.c.0.add(n1));
                }
                ((self, m, n1), (right, m, n - n1))
            };
            rayon::join(
                // SAFETY: the two blocks are disjoint parts of this block.
                || unsafe { first.0.run(first.1, first.2, left) },
                || unsafe { second.0.run(second.1, second.2, threads - left) },
            );
            return;
        }
        // SAFETY: forwarded from the caller.
        unsafe {
            matrixmultiply::sgemm(
                m, self.k, n, self.alpha, self.a.0, self.rsa, self.csa, self.b.0, self.rsb,
                self.csb, self.beta, self.c.0, self.rsc, 1,
            )
        }
    }
}

/// [`sgemm`] always through OpenBLAS `cblas_sgemm`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_blas(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    check_dims(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    if m == 0 || n == 0 {
        return;
    }
    let max = c_int::MAX as usize;
    assert!(
        m <= max && n <= max && k <= max && lda <= max && ldb <= max && ldc <= max,
        "gemm: dimension exceeds the BLAS integer range"
    );
    let t = |x: bool| if x { CBLAS_TRANS } else { CBLAS_NO_TRANS };
    // SAFETY: dimensions checked against the slice lengths above; OpenBLAS reads A, B and
    // reads/writes C only inside those bounds.
    unsafe {
        cblas_sgemm(
            CBLAS_ROW_MAJOR,
            t(trans_a),
            t(trans_b),
            m as c_int,
            n as c_int,
            k as c_int,
            alpha,
            a.as_ptr(),
            lda as c_int,
            b.as_ptr(),
            ldb as c_int,
            beta,
            c.as_mut_ptr(),
            ldc as c_int,
        )
    }
}

/// `C ← α·op(A)·op(B) + β·C` in f64 through `matrixmultiply` (used by the f64 build of the
/// network for gradient checks).
#[allow(clippy::too_many_arguments)]
pub fn dgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &[f64],
    ldb: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) {
    check_dims(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = strides(trans_a, lda);
    let (rsb, csb) = strides(trans_b, ldb);
    // SAFETY: as in sgemm_mm.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        )
    }
}

/// The floating-point type of the numeric core: f32 for training, f64 for gradient checks (the
/// same code, so a central difference in f64 checks the f32 formulas).
pub trait Real: NdFloat + Default {
    /// Converts from f64 (rounding for f32).
    fn from_f(x: f64) -> Self;
    /// Converts to f64 (exact).
    fn as_f64(self) -> f64;
    /// `C ← α·op(A)·op(B) + β·C`, row-major; see [`sgemm`].
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        trans_a: bool,
        trans_b: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: Self,
        a: &[Self],
        lda: usize,
        b: &[Self],
        ldb: usize,
        beta: Self,
        c: &mut [Self],
        ldc: usize,
    );
}

impl Real for f32 {
    #[inline(always)]
    fn from_f(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn gemm(
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        beta: f32,
        c: &mut [f32],
        ldc: usize,
    ) {
        sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn from_f(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline]
    fn gemm(
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f64,
        a: &[f64],
        lda: usize,
        b: &[f64],
        ldb: usize,
        beta: f64,
        c: &mut [f64],
        ldc: usize,
    ) {
        dgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive triple loop in f64 on the stored row-major operands.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f64,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        beta: f64,
        c: &[f32],
        ldc: usize,
    ) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta { a[p * lda + i] } else { a[i * lda + p] };
                    let bv = if tb { b[j * ldb + p] } else { b[p * ldb + j] };
                    s += f64::from(av) * f64::from(bv);
                }
                out[i * n + j] = alpha * s + beta * f64::from(c[i * ldc + j]);
            }
        }
        out
    }

    #[test]
    fn both_backends_match_the_triple_loop_for_every_transpose() {
        // Values are small integers, so every product and sum is exact in f32 up to 2^24: the
        // backends must agree with the f64 reference exactly.
        let (m, n, k) = (7, 5, 9);
        let (pad_a, pad_b, pad_c) = (2, 3, 1);
        for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
            let (ar, ac) = if ta { (k, m) } else { (m, k) };
            let (br, bc) = if tb { (n, k) } else { (k, n) };
            let lda = ac + pad_a;
            let ldb = bc + pad_b;
            let ldc = n + pad_c;
            let a: Vec<f32> = (0..ar * lda).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let b: Vec<f32> = (0..br * ldb).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
            let c0: Vec<f32> = (0..m * ldc).map(|i| ((i * 3) % 7) as f32 - 3.0).collect();
            let want = reference(ta, tb, m, n, k, 2.0, &a, lda, &b, ldb, 0.5, &c0, ldc);
            for backend in 0..2 {
                let mut c = c0.clone();
                let f = if backend == 0 { sgemm_mm } else { sgemm_blas };
                f(ta, tb, m, n, k, 2.0, &a, lda, &b, ldb, 0.5, &mut c, ldc);
                for i in 0..m {
                    for j in 0..n {
                        assert_eq!(
                            f64::from(c[i * ldc + j]),
                            want[i * n + j],
                            "{ta} {tb} {backend}"
                        );
                    }
                    // Padding columns are untouched.
                    for j in n..ldc.min(c.len() - i * ldc) {
                        assert_eq!(c[i * ldc + j], c0[i * ldc + j]);
                    }
                }
            }
        }
    }

    #[test]
    fn large_products_split_over_threads_match_openblas() {
        // Small-integer operands: every product and partial sum is exact in f32, so the split
        // matrixmultiply path and OpenBLAS must agree exactly, for even and uneven splits of m
        // (m ≥ n) and of n.
        for &(m, n, k) in &[(300, 200, 40), (120, 500, 30)] {
            for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
                let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 9) as f32 - 4.0).collect();
                let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 7) as f32 - 3.0).collect();
                let (lda, ldb) = (if ta { m } else { k }, if tb { k } else { n });
                let c0: Vec<f32> = (0..m * n).map(|i| (i % 5) as f32).collect();
                let mut want = c0.clone();
                sgemm_blas(ta, tb, m, n, k, 1.0, &a, lda, &b, ldb, 2.0, &mut want, n);
                for threads in [2, 3] {
                    let mut c = c0.clone();
                    let op = MmOp {
                        alpha: 1.0,
                        beta: 2.0,
                        k,
                        a: Ptr(a.as_ptr() as *mut f32),
                        rsa: strides(ta, lda).0,
                        csa: strides(ta, lda).1,
                        b: Ptr(b.as_ptr() as *mut f32),
                        rsb: strides(tb, ldb).0,
                        csb: strides(tb, ldb).1,
                        c: Ptr(c.as_mut_ptr()),
                        rsc: n as isize,
                    };
                    // SAFETY: the pointers cover the full m × n product.
                    unsafe { op.run(m, n, threads) };
                    assert_eq!(c, want, "{m}x{n}x{k} {ta} {tb} threads {threads}");
                }
            }
        }
    }

    #[test]
    fn beta_zero_overwrites_nan() {
        let a = [1.0f32, 2.0, 3.0, 4.0];
        let b = [1.0f32, 0.0, 0.0, 1.0];
        for f in [sgemm_mm, sgemm_blas] {
            let mut c = [f32::NAN; 4];
            f(false, false, 2, 2, 2, 1.0, &a, 2, &b, 2, 0.0, &mut c, 2);
            assert_eq!(c, [1.0, 2.0, 3.0, 4.0]);
        }
    }

    #[test]
    #[should_panic(expected = "C is too short")]
    fn short_output_panics() {
        let a = [1.0f32; 4];
        let mut c = [0.0f32; 3];
        sgemm(false, false, 2, 2, 2, 1.0, &a, 2, &a, 2, 0.0, &mut c, 2);
    }
}
