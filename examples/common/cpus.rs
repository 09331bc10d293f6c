//! Which CPUs this process may use, and pinning to some of them. Shared by
//! the `switchlab` example (its `switches.rs`, also included by
//! `benches/switch.rs`) and the `c10k` example, each including it with
//! `#[path]`.
//!
//! Affinity is per thread and inherited by threads spawned afterwards, so a
//! process that pins itself before it starts any thread runs wholly there.

/// The CPUs this process may run on, lowest first.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live cpu_set_t and we pass its exact size.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(rc, 0, "sched_getaffinity: {}", std::io::Error::last_os_error());
    // SAFETY: CPU_ISSET reads within `set` for any index below CPU_SETSIZE.
    (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
}

/// Pins the calling thread (and the threads it spawns later) to `cpus`.
pub fn pin(cpus: &[usize]) {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        assert!(cpu < libc::CPU_SETSIZE as usize, "pin: CPU {cpu} is past CPU_SETSIZE");
        // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so CPU_SET
        // writes within the live `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a live cpu_set_t and we pass its exact size.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    assert_eq!(rc, 0, "sched_setaffinity({cpus:?}): {}", std::io::Error::last_os_error());
}
