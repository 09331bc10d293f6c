//! Safe wrappers over the few libc calls the runtime makes: memory mapping
//! for stack arenas, giving freed heap back, and signal plumbing for the
//! overflow handler. Each
//! function that can break memory safety is an `unsafe fn` with its contract.

use std::io;
use std::sync::OnceLock;

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no memory-safety preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// Reserves `len` bytes of fresh read-write anonymous memory that is only
/// backed as it is touched (`MAP_NORESERVE`). Returns its address. It is
/// never unmapped.
pub(crate) fn map_reserve(len: usize) -> io::Result<usize> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
    // SAFETY: a fresh anonymous mapping at an address of the kernel's choice
    // aliases nothing.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0) };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p as usize)
}

/// `madvise(addr, len, advice)`.
///
/// # Safety
/// For advice that discards or blocks memory (`MADV_DONTNEED`, guard
/// installs), nobody may rely on the contents of, or hold references into,
/// `addr..addr + len`.
pub(crate) unsafe fn madvise(addr: usize, len: usize, advice: libc::c_int) -> io::Result<()> {
    // SAFETY: the caller guarantees the range may lose its contents.
    if unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `addr..addr + len` inaccessible.
///
/// # Safety
/// Nobody may hold references into the range.
pub(crate) unsafe fn protect_none(addr: usize, len: usize) -> io::Result<()> {
    // SAFETY: the caller guarantees the range is unused.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, len, libc::PROT_NONE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Gives the free pages of every malloc arena back to the kernel (glibc's
/// `malloc_trim`; elsewhere a no-op). Walks each arena under its lock: tens
/// of milliseconds after a burst of a few hundred thousand small frees.
pub(crate) fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only reorganises malloc's own free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Whether the caller is the process's main thread (its tid is the pid).
pub(crate) fn is_main_thread() -> bool {
    // SAFETY: gettid and getpid have no preconditions.
    unsafe { libc::gettid() == libc::getpid() }
}

/// Writes all of `bytes` to stderr with write(2): async-signal-safe.
pub(crate) fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live byte slice.
        let n = unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// The signal handler type for `SA_SIGINFO` handlers.
pub(crate) type SigInfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Installs `handler` for `sig` (on the alternate stack) and returns the
/// previous action.
pub(crate) fn sigaction_install(sig: libc::c_int, handler: SigInfoHandler) -> io::Result<libc::sigaction> {
    // SAFETY: sigaction is plain old data; all-zero is a valid empty value.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler as usize;
    new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live sigaction values; the handler is an
    // extern "C" fn with the SA_SIGINFO signature.
    if unsafe { libc::sigaction(sig, &new, &mut old) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old)
}

/// Restores a previous action for `sig` (async-signal-safe).
pub(crate) fn sigaction_restore(sig: libc::c_int, old: &libc::sigaction) {
    // SAFETY: `old` was returned by sigaction for this signal.
    unsafe { libc::sigaction(sig, old, std::ptr::null_mut()) };
}

/// The size of the calling thread's alternate signal stack, 0 if none.
pub(crate) fn altstack_size() -> usize {
    // SAFETY: stack_t is plain old data; zero is a valid value.
    let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: querying only: a null new stack and a live out pointer.
    if unsafe { libc::sigaltstack(std::ptr::null(), &mut cur) } != 0 || cur.ss_flags & libc::SS_DISABLE != 0 {
        return 0;
    }
    cur.ss_size
}

/// Gives the calling thread a fresh alternate signal stack of `len` bytes
/// (leaked: Ms never exit).
pub(crate) fn altstack_install(len: usize) -> io::Result<()> {
    let base = map_reserve(len)?;
    let st = libc::stack_t { ss_sp: base as *mut libc::c_void, ss_flags: 0, ss_size: len };
    // SAFETY: `st` describes memory we just mapped and never free.
    if unsafe { libc::sigaltstack(&st, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
