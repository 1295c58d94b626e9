//! The thread count of the BLAS behind MLX's CPU matmuls, where that BLAS
//! is OpenBLAS (Linux, see docs/mlx-on-linux.md).
//!
//! Decoding multiplies a handful of rows (one new token per sequence) by
//! every weight matrix: the products are bound by reading the weights, and
//! OpenBLAS splitting each one across threads gains nothing on an idle
//! machine and loses much as soon as another process holds a core (a thread
//! then waits for its partner's share, and spins on the core others need).
//! SmolLM2's 210 projections at 8 rows, two-core development machine
//! (`cargo bench -p grpo-benches --bench matmul`): 48–52 ms with one or two
//! threads when idle; 57 ms with one and 106 ms with two when shared.
//! [`generate`](crate::generate::generate) therefore decodes on one thread.
//!
//! Large products (prefill, training) gain from the second thread on an
//! idle machine (2× at 1024²) and lose on a busy one (a GRPO iteration on
//! SmolLM2 was 15–20 % faster with `OPENBLAS_NUM_THREADS=1` while another
//! job kept the machine loaded), so they keep OpenBLAS's default: choosing
//! by load would make the rounding, and so the runs, depend on the
//! neighbours. [`limit_threads`] sets the count for a stretch of work and
//! puts it back afterwards.
//!
//! OpenBLAS's `openblas_set_num_threads` is looked up at run time, so that
//! nothing links against it: with another BLAS (Accelerate on macOS, the
//! reference BLAS) this does nothing. The thread count changes how OpenBLAS
//! blocks a product, and so the rounding of some sums (by about 1e-7 of the
//! products' scale): a fixed choice keeps runs reproducible.

/// Puts the BLAS thread count back when dropped (see [`limit_threads`]).
#[derive(Debug)]
#[must_use = "the thread count is restored when the guard is dropped"]
pub struct ThreadLimit {
    restore: Option<i32>,
}

impl Drop for ThreadLimit {
    fn drop(&mut self) {
        if let Some(n) = self.restore {
            imp::set(n);
        }
    }
}

/// Whether [`pin_threads`] has fixed the count for the rest of the process.
static PINNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keeps the BLAS thread count where it is for the rest of the process:
/// [`limit_threads`] does nothing afterwards, so decoding runs on the same
/// count as everything else.
///
/// The count is one setting for the whole process. A program that runs
/// several models at once on different threads (a test harness, a server)
/// would otherwise have one thread's decoding change the blocking, and so
/// the rounding, of another thread's products in the middle of its work,
/// and two identical runs would differ in the last bits. Pin before the
/// first model work; it costs decoding its one-thread speed-up.
pub fn pin_threads() {
    PINNED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Limits the BLAS to at most `threads` threads until the guard is dropped,
/// which puts back the count it replaced (guards nest). Work already
/// queued may run under either count: evaluate it first when that matters.
/// Does nothing once [`pin_threads`] has been called.
pub fn limit_threads(threads: i32) -> ThreadLimit {
    if PINNED.load(std::sync::atomic::Ordering::SeqCst) {
        return ThreadLimit { restore: None };
    }
    let threads = threads.max(1);
    let restore = imp::get().filter(|&now| now > threads);
    if restore.is_some() {
        imp::set(threads);
    }
    ThreadLimit { restore }
}

/// The BLAS's current thread count, when it is OpenBLAS.
pub fn threads() -> Option<i32> {
    imp::get()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use std::ffi::{c_char, c_int, c_void};
    use std::sync::OnceLock;

    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }

    type Set = unsafe extern "C" fn(c_int);
    type Get = unsafe extern "C" fn() -> c_int;

    /// OpenBLAS's setter and getter, when OpenBLAS is loaded.
    fn api() -> Option<(Set, Get)> {
        static API: OnceLock<Option<(Set, Get)>> = OnceLock::new();
        *API.get_or_init(|| {
            // SAFETY: dlsym with RTLD_DEFAULT (a null handle on glibc) only
            // reads the loaded objects' symbol tables; the names are
            // NUL-terminated.
            let (set, get) = unsafe {
                (
                    dlsym(std::ptr::null_mut(), c"openblas_set_num_threads".as_ptr()),
                    dlsym(std::ptr::null_mut(), c"openblas_get_num_threads".as_ptr()),
                )
            };
            if set.is_null() || get.is_null() {
                return None;
            }
            // SAFETY: these are OpenBLAS's exported functions, whose C
            // signatures are `void (int)` and `int (void)`.
            Some(unsafe {
                (
                    std::mem::transmute::<*mut c_void, Set>(set),
                    std::mem::transmute::<*mut c_void, Get>(get),
                )
            })
        })
    }

    pub(super) fn get() -> Option<i32> {
        // SAFETY: OpenBLAS's getter takes nothing and only reads a global.
        api().map(|(_, get)| unsafe { get() })
    }

    pub(super) fn set(n: i32) {
        if let Some((set, _)) = api() {
            // SAFETY: OpenBLAS's setter takes any positive count; callers
            // pass at least 1.
            unsafe { set(n) }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub(super) fn get() -> Option<i32> {
        None
    }

    pub(super) fn set(_: i32) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests change the process's thread count: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn one_thread_changes_products_by_rounding_only() {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        use mlx_rs::{random, transforms::eval};
        let key = random::key(7).unwrap();
        let (k1, k2) = random::split(&key, 2).unwrap();
        let x = random::normal::<f32>(&[300, 576], 0.0, 1.0, &k1).unwrap();
        let w = random::normal::<f32>(&[1536, 576], 0.0, 1.0, &k2).unwrap();
        eval([&x, &w]).unwrap();
        let product = || {
            let y = x.matmul(w.t()).unwrap();
            eval([&y]).unwrap();
            y.as_slice::<f32>().to_vec()
        };
        let all = product();
        let one = {
            let _one = limit_threads(1);
            product()
        };
        // Rounding only: differences at float32's resolution of the
        // products' scale.
        let scale = all.iter().fold(0.0f32, |m, a| m.max(a.abs()));
        let worst = all
            .iter()
            .zip(&one)
            .map(|(a, b)| (a - b).abs() / scale)
            .fold(0.0f32, f32::max);
        let same = all.iter().zip(&one).filter(|(a, b)| a == b).count();
        assert!(
            worst <= 1e-6,
            "one thread changed a product by {worst} (relative); {same} of {} equal",
            all.len()
        );
    }

    #[test]
    fn limits_nest_and_restore_what_they_replaced() {
        let _serial = SERIAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(before) = threads() else {
            return; // not OpenBLAS: nothing to limit
        };
        {
            let _outer = limit_threads(before);
            assert_eq!(threads(), Some(before));
            {
                let _inner = limit_threads(1);
                assert_eq!(threads(), Some(1));
            }
            assert_eq!(threads(), Some(before), "the inner limit is undone");
        }
        assert_eq!(threads(), Some(before));
    }
}
