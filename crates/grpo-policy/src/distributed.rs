//! Data-parallel communication through MLX's own distributed layer: the
//! group of processes that `mlx.launch` (or MPI) starts, and the two
//! collectives training needs, [`Group::all_sum`] and [`Group::all_gather`].
//!
//! MLX owns the transport. Its ring backend connects the processes over TCP
//! (Ethernet or Thunderbolt) from the environment `mlx.launch` sets up:
//! `MLX_RANK`, the process's place in the ring, and `MLX_HOSTFILE`, a JSON
//! file with one list of `"ip:port"` addresses per rank
//! (`[["10.0.0.1:5000"], ["10.0.0.2:5000"]]`). The MPI backend takes its
//! ranks from `mpirun`. Without either environment, a non-strict
//! [`Group::init`] returns the group of this process alone, and every
//! collective is the identity: one process needs nothing new.
//!
//! mlx-rs 0.33 does not wrap `mlx::core::distributed`; this module calls
//! mlx-c's `mlx_distributed_*` functions directly, as
//! [`crate::grad_checkpoint`] does for `mlx_checkpoint`.
//!
//! A collective only records an operation in the graph: the communication
//! happens when its result is evaluated, and a lost peer (a process that
//! died) surfaces there, as the evaluation's error (`[ring] connection to a
//! peer was lost`), not as a hang.

use std::ffi::CString;

use mlx_rs::{Array, Stream};
use mlx_sys::mlx_distributed_group;

use crate::error::{Error, Result};

/// Which of MLX's distributed backends to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The first one whose environment is set up (MLX's order: NCCL, ring,
    /// MPI, JACCL).
    #[default]
    Any,
    /// MLX's TCP ring (`MLX_RANK`, `MLX_HOSTFILE`).
    Ring,
    /// MPI, when an MPI library can be loaded and `mpirun` started the process.
    Mpi,
}

impl Backend {
    /// MLX's name of the backend.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Any => "any",
            Backend::Ring => "ring",
            Backend::Mpi => "mpi",
        }
    }

    /// The backend named `name` (`any`, `ring`, `mpi`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "any" => Some(Backend::Any),
            "ring" => Some(Backend::Ring),
            "mpi" => Some(Backend::Mpi),
            _ => None,
        }
    }

    /// Whether MLX was built with this backend and can load what it needs
    /// (the ring always; MPI only where an MPI library is installed).
    pub fn is_available(self) -> bool {
        let name = CString::new(self.name()).expect("backend names have no NUL");
        #[allow(unsafe_code)]
        // SAFETY: `name` is a NUL-terminated string that outlives the call,
        // which only reads it.
        unsafe {
            mlx_sys::mlx_distributed_is_available(name.as_ptr())
        }
    }
}

/// The processes of one data-parallel run, as MLX's distributed layer
/// connects them. Rank 0 is the one that writes files.
pub struct Group {
    raw: mlx_distributed_group,
    rank: usize,
    size: usize,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .finish()
    }
}

impl Group {
    /// Joins the group that the environment describes. With `strict`, a
    /// backend that cannot start is an error; without it, the group of this
    /// process alone is returned instead (size 1, every collective the
    /// identity). The ring backend connects to its neighbours here, waiting
    /// a few seconds for them to start.
    pub fn init(backend: Backend, strict: bool) -> Result<Self> {
        if !backend.is_available() {
            if !strict {
                return Ok(Self::single());
            }
            return Err(Error::Distributed {
                message: format!(
                    "MLX's `{}` backend is not available on this machine{}",
                    backend.name(),
                    if backend == Backend::Mpi {
                        " (no MPI library could be loaded: install Open MPI, or use the ring backend)"
                    } else {
                        ""
                    }
                ),
            });
        }
        // mlx-rs registers the handler that keeps MLX's error messages
        // (instead of mlx-c's default, which exits the process) on its first
        // operation; make sure one ran.
        let _ = Array::from_f32(0.0).add(Array::from_f32(0.0))?;
        let name = CString::new(backend.name()).expect("backend names have no NUL");
        #[allow(unsafe_code)]
        // SAFETY: `raw` starts empty (`mlx_distributed_group_new`) and is
        // filled by `mlx_distributed_init`; it is owned by the `Group` built
        // below, or freed here when init fails. `name` outlives the call.
        let (status, raw) = unsafe {
            let mut raw = mlx_sys::mlx_distributed_group_new();
            let status = mlx_sys::mlx_distributed_init(&mut raw, strict, name.as_ptr());
            if status != 0 {
                mlx_sys::mlx_distributed_group_free(raw);
            }
            (status, raw)
        };
        if status != 0 {
            return Err(Error::Distributed {
                message: init_failure(backend),
            });
        }
        #[allow(unsafe_code)]
        // SAFETY: `raw` holds the group MLX just made.
        let (rank, size) = unsafe {
            (
                mlx_sys::mlx_distributed_group_rank(raw),
                mlx_sys::mlx_distributed_group_size(raw),
            )
        };
        Ok(Self {
            raw,
            rank: rank.max(0) as usize,
            size: size.max(1) as usize,
        })
    }

    /// The group of this process alone, without asking MLX: what a run on
    /// one machine uses.
    pub fn single() -> Self {
        Self {
            #[allow(unsafe_code)]
            // SAFETY: an empty handle, which mlx-c's collectives read as
            // "the default group" and `mlx_distributed_group_free` accepts.
            raw: unsafe { mlx_sys::mlx_distributed_group_new() },
            rank: 0,
            size: 1,
        }
    }

    /// This process's place in the group, `0..size`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this process is the one that writes checkpoints and logs.
    pub fn is_main(&self) -> bool {
        self.rank == 0
    }

    /// The element-wise sum of `x` over every process (each passes an
    /// array of the same shape and type). Lazy, like any MLX operation.
    pub fn all_sum(&self, x: &Array) -> Result<Array> {
        if self.size == 1 {
            return Ok(x.clone());
        }
        self.collective(x, "all_sum", |res, x, group, stream| {
            #[allow(unsafe_code)]
            // SAFETY: see `collective`.
            unsafe {
                mlx_sys::mlx_distributed_all_sum(res, x, group, stream)
            }
        })
    }

    /// Every process's `x`, concatenated along the first axis in rank
    /// order (a scalar becomes a vector of `size` values). Lazy.
    pub fn all_gather(&self, x: &Array) -> Result<Array> {
        if self.size == 1 {
            return Ok(if x.ndim() == 0 {
                x.reshape(&[1])?
            } else {
                x.clone()
            });
        }
        self.collective(x, "all_gather", |res, x, group, stream| {
            #[allow(unsafe_code)]
            // SAFETY: see `collective`.
            unsafe {
                mlx_sys::mlx_distributed_all_gather(res, x, group, stream)
            }
        })
    }

    /// Runs one mlx-c collective `op(&mut result, x, group, stream)` on the
    /// stream mlx-rs's own operations use, and wraps its result.
    fn collective(
        &self,
        x: &Array,
        what: &str,
        op: impl FnOnce(
            *mut mlx_sys::mlx_array,
            mlx_sys::mlx_array,
            mlx_distributed_group,
            mlx_sys::mlx_stream,
        ) -> i32,
    ) -> Result<Array> {
        let stream = Stream::thread_local_or_default();
        // `op` receives handles that stay alive for the call: `x` is
        // borrowed, `self.raw` and `stream` are owned here; the result is a
        // fresh handle from `mlx_array_new`, owned by the returned `Array`
        // (or freed at once on failure).
        #[allow(unsafe_code)]
        // SAFETY: as above.
        unsafe {
            let mut res = mlx_sys::mlx_array_new();
            let status = op(&mut res, x.as_ptr(), self.raw, stream.as_ptr());
            if status != 0 {
                mlx_sys::mlx_array_free(res);
                return Err(Error::Distributed {
                    message: format!(
                        "MLX refused {what} of an array of shape {:?} ({:?}) on rank {} of {}",
                        x.shape(),
                        x.dtype(),
                        self.rank,
                        self.size
                    ),
                });
            }
            Ok(Array::from_ptr(res))
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: `self.raw` is owned by `self` and freed only here; MLX's
        // group is reference-counted, so graphs that still use it keep it.
        unsafe {
            mlx_sys::mlx_distributed_group_free(self.raw);
        }
    }
}

/// What to tell a user whose strict init failed (MLX's own message goes to
/// mlx-rs's error handler, which this crate cannot read).
fn init_failure(backend: Backend) -> String {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    match backend {
        Backend::Ring | Backend::Any if env("MLX_RANK").is_empty() || env("MLX_HOSTFILE").is_empty() => format!(
            "MLX's `{}` backend could not start: MLX_RANK is `{}` and MLX_HOSTFILE is `{}`; start every process with `mlx.launch --hosts HOST1,HOST2 -- …` (which sets both), or set MLX_RANK (0, 1, …) and MLX_HOSTFILE (a JSON file such as [[\"10.0.0.1:5000\"], [\"10.0.0.2:5000\"]]) yourself",
            backend.name(),
            env("MLX_RANK"),
            env("MLX_HOSTFILE"),
        ),
        Backend::Ring | Backend::Any => format!(
            "MLX's `{}` backend could not connect rank {} to the others listed in {}: check that the file is a JSON list with one list of \"ip:port\" per rank, that this machine has the address of its own entry, that every rank was started, and that no firewall blocks the ports",
            backend.name(),
            env("MLX_RANK"),
            env("MLX_HOSTFILE"),
        ),
        Backend::Mpi => "MLX's `mpi` backend could not start: launch the processes with `mpirun` (or `mlx.launch --backend mpi`)".to_string(),
    }
}
