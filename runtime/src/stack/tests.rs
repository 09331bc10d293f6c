//! The stack pools' tests: guards, reuse, caches, sweeps and what stays resident.

use super::*;

fn maps_lines() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

#[test]
fn twenty_thousand_guarded_stacks_add_few_mappings() {
    let size = round_size(64 << 10);
    let before = maps_lines();
    let stacks: Vec<Stack> = (0..20_000).map(|_| alloc(size).unwrap()).collect();
    let grown = maps_lines().saturating_sub(before);
    assert!(grown < 100, "20,000 stacks added {grown} mappings");
    for s in &stacks {
        // SAFETY: the stack is ours and unused; write its lowest and
        // highest usable bytes.
        unsafe {
            std::ptr::write_volatile((s.limit() + sys::page_size()) as *mut u8, 1);
            std::ptr::write_volatile((s.base - 1) as *mut u8, 1);
        }
        assert_eq!(ARENAS.guard_hit(s.limit()), Some(size));
        assert_eq!(ARENAS.guard_hit(s.limit() + sys::page_size()), None);
    }
    stacks.into_iter().for_each(free);
}

#[test]
fn freed_stacks_are_reused() {
    let size = round_size(48 << 10);
    let a = alloc(size).unwrap();
    let base = a.base;
    free(a);
    assert_eq!(alloc(size).unwrap().base, base);
}

#[test]
fn cache_serves_its_size_and_passes_others_through() {
    let mut c = StackCache::new(round_size(32 << 10));
    let odd = c.get(round_size(80 << 10)).unwrap();
    assert_eq!(odd.size, round_size(80 << 10));
    let s = c.get(round_size(32 << 10)).unwrap();
    let base = s.base;
    c.put(s);
    c.put(odd);
    assert_eq!(c.get(round_size(32 << 10)).unwrap().base, base);
}

/// Fills a stack's usable pages.
fn touch(s: &Stack) {
    let from = s.limit() + sys::page_size();
    // SAFETY: the stack is ours and unused: fill all of it.
    unsafe { std::ptr::write_bytes(from as *mut u8, 7, s.base - from) };
}

/// How many of a stack's usable pages are resident (`mincore`).
fn resident(s: &Stack) -> usize {
    let page = sys::page_size();
    let from = s.limit() + page;
    let mut vec = vec![0u8; (s.base - from) / page];
    // SAFETY: the range is mapped (an arena) and `vec` has a byte per page.
    let r = unsafe { libc::mincore(from as *mut libc::c_void, s.base - from, vec.as_mut_ptr()) };
    assert_eq!(r, 0, "mincore: {}", io::Error::last_os_error());
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

/// One stack from a private set of pools, so that other tests' sweeps
/// cannot age it.
fn take_one(pools: &Pools, size: usize) -> Stack {
    let mut v = Vec::new();
    pools.take(size, 1, &mut v).unwrap();
    v.pop().unwrap()
}

#[test]
fn two_sweeps_release_an_idle_stack() {
    let pools = Pools::new();
    let s = take_one(&pools, round_size(1 << 20));
    touch(&s);
    let (base, all) = (s.base, resident(&s));
    pools.give(std::iter::once(s));
    pools.sweep();
    let s = take_one(&pools, round_size(1 << 20));
    assert_eq!((s.base, resident(&s)), (base, all), "one sweep released a stack");
    pools.give(std::iter::once(s));
    pools.sweep();
    pools.sweep();
    let s = take_one(&pools, round_size(1 << 20));
    assert_eq!((s.base, resident(&s)), (base, 0), "two sweeps left pages resident");
}

#[test]
fn a_stack_taken_between_sweeps_stays_resident() {
    let pools = Pools::new();
    let size = round_size(64 << 10);
    let (a, b) = (take_one(&pools, size), take_one(&pools, size));
    touch(&a);
    touch(&b);
    pools.give([a, b].into_iter());
    pools.sweep();
    let b = take_one(&pools, size);
    pools.give(std::iter::once(b));
    pools.sweep();
    // `b` was taken between the sweeps: it is the warm one, `a` went cold.
    let (b, a) = (take_one(&pools, size), take_one(&pools, size));
    assert_eq!((resident(&b), resident(&a)), (size / sys::page_size() - 1, 0));
}

/// Whether the kernel refuses to read `addr`: a guard page's marker makes
/// `write` from it fail with `EFAULT`, where a plain page is read.
fn unreadable(addr: usize) -> bool {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the kernel checks the source address; a fault is EFAULT.
    let n = unsafe { libc::write(fds[1], addr as *const libc::c_void, 1) };
    // SAFETY: the descriptors are ours and closed once.
    unsafe { (libc::close(fds[0]), libc::close(fds[1])) };
    n < 0
}

#[test]
fn released_stacks_keep_their_guards() {
    let pools = Pools::new();
    let size = round_size(64 << 10);
    let stacks: Vec<Stack> = (0..8).map(|_| take_one(&pools, size)).collect();
    stacks.iter().for_each(touch);
    pools.give(stacks.into_iter());
    pools.sweep();
    pools.sweep();
    let stacks: Vec<Stack> = (0..8).map(|_| take_one(&pools, size)).collect();
    for s in &stacks {
        assert_eq!(resident(s), 0, "a stack was not released");
        assert!(unreadable(s.limit()), "a released stack lost its guard");
        assert!(!unreadable(s.limit() + sys::page_size()));
    }
}

#[test]
fn sizes_round_to_pages_with_a_floor() {
    assert_eq!(round_size(1), MIN_STACK_SIZE);
    assert_eq!(round_size(DEFAULT_STACK_SIZE), DEFAULT_STACK_SIZE);
    assert_eq!(round_size(65_537), 68 << 10);
}
