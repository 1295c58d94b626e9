//! Joining the other processes of a data-parallel run, as `mlx.launch` or
//! `mpirun` started them; without their environment, the run is one process
//! and MLX's distributed layer is not touched at all.

use anyhow::{Context, Result};
use grpo_policy::distributed::{Backend, Group};

/// The group this process belongs to: MLX's ring when `MLX_RANK` or
/// `MLX_HOSTFILE` is set (what `mlx.launch` sets up), MPI under `mpirun`,
/// otherwise this process alone.
pub fn join() -> Result<Group> {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    let backend = if set("MLX_RANK") || set("MLX_HOSTFILE") {
        if hostfile_is_empty() {
            // `mlx.launch` with one host writes an empty hostfile.
            return Ok(Group::single());
        }
        Backend::Ring
    } else if set("OMPI_COMM_WORLD_SIZE") || set("PMI_SIZE") {
        Backend::Mpi
    } else {
        return Ok(Group::single());
    };
    Group::init(backend, true).with_context(|| {
        format!(
            "joining the other processes of this run (MLX's {} backend)",
            backend.name()
        )
    })
}

/// Whether `MLX_HOSTFILE` names a file with nothing in it.
fn hostfile_is_empty() -> bool {
    std::env::var_os("MLX_HOSTFILE")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|text| text.trim().is_empty() || text.trim() == "\"\"")
}
