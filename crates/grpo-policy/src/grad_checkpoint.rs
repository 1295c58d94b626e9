//! Gradient checkpointing (`--grad-checkpoint`): each decoder layer's
//! activations are dropped after the forward pass and recomputed during the
//! backward pass, so a training step holds one layer's activations at a
//! time instead of all of them, for about one more forward pass of compute.
//!
//! MLX implements the transform (`mlx::core::checkpoint`, exposed by mlx-c
//! as `mlx_checkpoint`); mlx-rs 0.33 does not wrap it, so [`checkpoint`]
//! does, over the raw mlx-c closure API ([`crate::distributed`] calls mlx-c
//! directly the same way, for MLX's collectives).
//!
//! MLX differentiates a checkpointed function with respect to its inputs
//! only: arrays it captures are constants. A checkpointed decoder layer
//! therefore takes the layer's differentiable parameters as explicit
//! inputs, as mlx-python's `nn.utils.checkpoint` passes
//! `trainable_parameters()`.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use mlx_rs::{error::Exception, Array, Dtype};
use mlx_sys::{mlx_array, mlx_closure, mlx_vector_array};

use crate::cache::KvCache;
use crate::error::{Error, Result};
use crate::mask::AttentionMask;
use crate::mode::Mode;
use crate::models::transformer::DecoderLayer;
use crate::params::Parameters;

/// A function of arrays that [`checkpoint`] can hand to MLX. It must own
/// what it uses (`'static`): MLX keeps it inside the graph and calls it
/// again, to recompute, whenever a gradient through its outputs is taken,
/// and drops it with the graph, possibly on another thread (`Send`).
pub trait Checkpointable: FnMut(&[Array]) -> Result<Vec<Array>> + Send + 'static {}

impl<F: FnMut(&[Array]) -> Result<Vec<Array>> + Send + 'static> Checkpointable for F {}

/// What MLX holds: the function (behind a lock, so that no two threads can
/// run it at once whatever MLX does) and where its first failure goes.
struct Payload<F> {
    f: Mutex<F>,
    failure: Arc<Mutex<Option<Error>>>,
}

/// `f(inputs)`, with MLX's checkpoint transform applied: under a gradient
/// transform, `f`'s intermediate arrays are not kept for the backward pass
/// but recomputed from `inputs` then. Gradients reach `inputs` only; arrays
/// `f` captures are constants.
///
/// An error `f` returns on the forward run is returned here. Should a
/// recomputation fail (it runs the same operations on the same shapes, so
/// it does not in practice), MLX fails the gradient transform with its own
/// message about the closure.
///
/// ```
/// use grpo_policy::grad_checkpoint::checkpoint;
/// use grpo_policy::mlx_rs::{error::Exception, transforms::value_and_grad, Array};
///
/// // d/dx sum(sin(x)^2) = sin(2x), with sin(x) recomputed in the backward pass.
/// let f = |x: &[Array]| -> Result<Vec<Array>, Exception> {
///     let out = checkpoint(|a: &[Array]| Ok(vec![a[0].sin()?.square()?]), &x[..1])
///         .map_err(|e| Exception::custom(e.to_string()))?;
///     Ok(vec![out[0].sum(None)?])
/// };
/// let x = Array::from_slice(&[0.3f32, 1.1], &[2]);
/// let (_, grads) = value_and_grad(f)(&[x.clone()])?;
/// let want = x.multiply(Array::from_f32(2.0))?.sin()?;
/// let diff = grads[0].subtract(&want)?.abs()?.max(None)?;
/// assert!(diff.item_exact::<f32>() < 1e-6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn checkpoint<F: Checkpointable>(f: F, inputs: &[Array]) -> Result<Vec<Array>> {
    let failure = Arc::new(Mutex::new(None));
    let payload = Box::new(Payload {
        f: Mutex::new(f),
        failure: Arc::clone(&failure),
    });
    let closure = OwnedClosure::new(payload);
    let checkpointed = closure.checkpointed()?;
    let outputs = checkpointed.apply(inputs);
    let failed = failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match (outputs, failed) {
        (_, Some(e)) => Err(e),
        (Ok(outputs), None) => Ok(outputs),
        (Err(e), None) => Err(e),
    }
}

/// An `mlx_closure` this module created and frees.
struct OwnedClosure(mlx_closure);

impl OwnedClosure {
    /// Hands `payload` to MLX as a closure; MLX frees it (through
    /// [`drop_payload`]) when the last copy of the closure goes.
    fn new<F: Checkpointable>(payload: Box<Payload<F>>) -> Self {
        let raw = Box::into_raw(payload).cast::<c_void>();
        #[allow(unsafe_code)]
        // SAFETY: `raw` is a live, uniquely owned `Payload<F>`; ownership
        // passes to the closure, whose destructor is `drop_payload::<F>`, the
        // only place it is freed. `trampoline::<F>` reads it as that type.
        let closure = unsafe {
            mlx_sys::mlx_closure_new_func_payload(
                Some(trampoline::<F>),
                raw,
                Some(drop_payload::<F>),
            )
        };
        Self(closure)
    }

    /// The closure wrapped in MLX's checkpoint transform.
    fn checkpointed(&self) -> Result<OwnedClosure> {
        #[allow(unsafe_code)]
        // SAFETY: `mlx_closure_new` makes an empty closure that
        // `mlx_checkpoint` overwrites; both handles are owned by the
        // returned values and freed once, on drop.
        let (status, result) = unsafe {
            let mut result = OwnedClosure(mlx_sys::mlx_closure_new());
            let status = mlx_sys::mlx_checkpoint(&mut result.0, self.0);
            (status, result)
        };
        if status != 0 {
            return Err(mlx_failure("wrapping a decoder layer in mlx_checkpoint"));
        }
        Ok(result)
    }

    /// Calls the closure on `inputs`.
    fn apply(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let handles: Vec<mlx_array> = inputs.iter().map(Array::as_ptr).collect();
        #[allow(unsafe_code)]
        // SAFETY: `handles` borrow arrays that outlive the call;
        // `mlx_vector_array_new_data` copies them (taking references), and
        // both vectors are owned by `OwnedVector`s that free them once.
        let (status, output) = unsafe {
            let input = OwnedVector(mlx_sys::mlx_vector_array_new_data(
                handles.as_ptr(),
                handles.len(),
            ));
            let mut output = OwnedVector(mlx_sys::mlx_vector_array_new());
            let status = mlx_sys::mlx_closure_apply(&mut output.0, self.0, input.0);
            (status, output)
        };
        if status != 0 {
            return Err(mlx_failure("running a checkpointed decoder layer"));
        }
        output.arrays()
    }
}

impl Drop for OwnedClosure {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` was made by mlx-c, is owned by `self` and freed
        // only here; the payload lives on while MLX holds other copies.
        unsafe {
            mlx_sys::mlx_closure_free(self.0);
        }
    }
}

/// An `mlx_vector_array` this module created and frees.
struct OwnedVector(mlx_vector_array);

impl OwnedVector {
    /// The arrays held, as new references.
    fn arrays(&self) -> Result<Vec<Array>> {
        vector_arrays(self.0)
    }
}

impl Drop for OwnedVector {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: `self.0` was made by mlx-c, is owned by `self` and freed
        // only here.
        unsafe {
            mlx_sys::mlx_vector_array_free(self.0);
        }
    }
}

/// New references to the arrays of a vector that the caller keeps alive.
fn vector_arrays(vector: mlx_vector_array) -> Result<Vec<Array>> {
    #[allow(unsafe_code)]
    // SAFETY: `vector` is a live vector (the caller's); each element is read
    // into a fresh handle from `mlx_array_new`, which `Array::from_ptr` then
    // owns (and frees on drop). A failed read frees its handle at once.
    unsafe {
        let n = mlx_sys::mlx_vector_array_size(vector);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mut handle = mlx_sys::mlx_array_new();
            if mlx_sys::mlx_vector_array_get(&mut handle, vector, i) != 0 {
                mlx_sys::mlx_array_free(handle);
                return Err(mlx_failure("reading a checkpointed layer's arrays"));
            }
            out.push(Array::from_ptr(handle));
        }
        Ok(out)
    }
}

/// The error for a failed mlx-c call. MLX's own message went to mlx-rs's
/// error handler, which this crate cannot read; say what was being done.
fn mlx_failure(doing: &str) -> Error {
    Error::Mlx(Exception::custom(format!(
        "gradient checkpointing: mlx failed while {doing}"
    )))
}

/// What MLX calls: runs the payload's function on `input` and stores its
/// outputs in `*output`. Returns 0, or 1 with the error (or panic) recorded
/// in the payload; MLX then fails the operation that called it.
extern "C" fn trampoline<F: Checkpointable>(
    output: *mut mlx_vector_array,
    input: mlx_vector_array,
    payload: *mut c_void,
) -> i32 {
    #[allow(unsafe_code)]
    // SAFETY: MLX passes back the pointer given to
    // `mlx_closure_new_func_payload`, a `Payload<F>` that lives until MLX
    // calls `drop_payload`, which it does only after its last call here.
    // Only shared access is taken; the function itself is behind a lock.
    let payload = unsafe { &*payload.cast::<Payload<F>>() };
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let arrays = vector_arrays(input)?;
        let outputs = {
            let mut f = payload.f.lock().unwrap_or_else(PoisonError::into_inner);
            (*f)(&arrays)?
        };
        let handles: Vec<mlx_array> = outputs.iter().map(Array::as_ptr).collect();
        #[allow(unsafe_code)]
        // SAFETY: `output` points to the vector mlx-c made for the result
        // (possibly still unallocated, which `set_data` handles); setting it
        // copies the handles (taking references), so `outputs` may be
        // dropped afterwards.
        let status =
            unsafe { mlx_sys::mlx_vector_array_set_data(output, handles.as_ptr(), handles.len()) };
        if status != 0 {
            return Err(mlx_failure("collecting a checkpointed layer's outputs"));
        }
        Ok(())
    }));
    let failure = match result {
        Ok(Ok(())) => return 0,
        Ok(Err(e)) => e,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Error::Mlx(Exception::custom(format!(
                "gradient checkpointing: the checkpointed function panicked: {what}"
            )))
        }
    };
    let mut slot = payload
        .failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    slot.get_or_insert(failure);
    1
}

/// What MLX calls when the last copy of the closure goes.
extern "C" fn drop_payload<F: Checkpointable>(payload: *mut c_void) {
    if payload.is_null() {
        return;
    }
    #[allow(unsafe_code)]
    // SAFETY: `payload` came from `Box::into_raw` in `OwnedClosure::new`
    // with this `F`, and MLX calls this destructor exactly once.
    let boxed = unsafe { Box::from_raw(payload.cast::<Payload<F>>()) };
    // A panic must not unwind into C++.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

/// Whether a layer parameter is passed to the checkpointed function as an
/// input (and so can receive a gradient): floating-point arrays, except the
/// scales and biases of quantized weights, which MLX cannot differentiate
/// and no fine-tuning mode trains (packed weights are integers).
fn differentiable(name: &str, a: &Array) -> bool {
    let float = matches!(
        a.dtype(),
        Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16 | Dtype::Float64
    );
    float && !name.ends_with("scales") && !name.ends_with("biases")
}

/// What the first run of a checkpointed layer reports back: the cache as
/// it left it and the dropout key where it stopped.
type Report = Arc<Mutex<Option<(KvCache, Option<Array>)>>>;

/// `layer.forward(x, mask, cache, mode)`, checkpointed: the same outputs and
/// gradients, the same cache and dropout-key updates, with the layer's
/// activations recomputed in the backward pass instead of kept.
///
/// The function MLX keeps owns clones of the layer (its parameter arrays
/// are shared, not copied), of the mask and of the cache before the call,
/// and starts every run from the same dropout key, so a recomputation
/// draws the dropout masks of the forward pass.
pub(crate) fn layer_forward(
    layer: &DecoderLayer,
    x: &Array,
    mask: &AttentionMask,
    cache: &mut KvCache,
    mode: &Mode,
) -> Result<Array> {
    let mut passed = Vec::new();
    let mut inputs = vec![x.clone()];
    let stored = cache.stored().map(|(k, v)| (k.clone(), v.clone()));
    if let Some((k, v)) = &stored {
        inputs.extend([k.clone(), v.clone()]);
    }
    let first_param = inputs.len();
    layer.visit("", &mut |name, a| {
        let pass = differentiable(name, a);
        passed.push(pass);
        if pass {
            inputs.push(a.clone());
        }
    });

    let report: Report = Arc::new(Mutex::new(None));
    let mut report_once = Some(Arc::clone(&report));
    let (layer, mask, before) = (layer.clone(), mask.clone(), cache.clone());
    let (adapters, key) = (mode.adapters(), mode.dropout_key());
    let has_cache = stored.is_some();
    let f = move |args: &[Array]| -> Result<Vec<Array>> {
        let mut layer = layer.clone();
        let mut params = args[first_param..].iter();
        let mut i = 0;
        layer.visit_mut("", &mut |_, a| {
            if passed[i] {
                if let Some(p) = params.next() {
                    *a = p.clone();
                }
            }
            i += 1;
        });
        let mut cache = if has_cache {
            before.with_stored(args[1].clone(), args[2].clone())
        } else {
            before.clone()
        };
        let mode = Mode::replay(adapters, key.clone());
        let h = layer.forward(&args[0], &mask, &mut cache, &mode)?;
        let mut out = vec![h];
        if let Some((k, v)) = cache.stored() {
            out.extend([k.clone(), v.clone()]);
        }
        // Only the forward run reports: a recomputation's arrays must not
        // outlive the backward pass.
        if let Some(report) = report_once.take() {
            *report.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((cache, mode.dropout_key()));
        }
        Ok(out)
    };

    let mut out = checkpoint(f, &inputs)?.into_iter();
    let reported = report.lock().unwrap_or_else(PoisonError::into_inner).take();
    let (after, key) = reported.ok_or_else(|| mlx_failure("running a decoder layer"))?;
    let h = out
        .next()
        .ok_or_else(|| mlx_failure("reading a decoder layer's output"))?;
    *cache = match (out.next(), out.next()) {
        (Some(k), Some(v)) => after.with_stored(k, v),
        _ => after,
    };
    if let Some(key) = key {
        mode.set_dropout_key(key);
    }
    Ok(h)
}
