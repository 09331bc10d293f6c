//! Panics and stack overflows in goroutines.

mod common;

use std::time::Duration;

#[test]
fn panic_arrives_at_join_and_m_survives() {
    for _ in 0..100 {
        let err = gort::go!(|| -> u32 { panic!("boom {}", 7) }).join().unwrap_err();
        let msg = err.downcast_ref::<String>().map(String::as_str).or(err.downcast_ref::<&str>().copied());
        assert_eq!(msg, Some("boom 7"));
    }
    // The Ms that caught those panics still run goroutines.
    let hs: Vec<_> = (0..1000u32).map(|i| gort::go!(move || i)).collect();
    assert_eq!(hs.into_iter().map(|h| h.join().unwrap()).sum::<u32>(), 999 * 1000 / 2);
}

#[test]
fn panic_message_names_the_goroutine() {
    if common::is_child() {
        let h = gort::go!(gort::Builder::new().name("worker-9"), || panic!("it broke")).unwrap();
        let _ = h.join();
        // An unjoined panic is reported too.
        drop(gort::go!(|| panic!("nobody joins me")));
        std::thread::sleep(Duration::from_millis(200));
        return;
    }
    let out = common::run_child("panic_message_names_the_goroutine", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {err}");
    assert!(err.contains("'worker-9' panicked at"), "stderr: {err}");
    assert!(err.contains("it broke"), "stderr: {err}");
    assert!(err.contains("nobody joins me"), "stderr: {err}");
}

#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let buf = std::hint::black_box([n as u8; 512]);
    recurse(n + 1) + buf[7] as u64
}

#[test]
fn stack_overflow_aborts_with_a_clear_message() {
    if common::is_child() {
        // SAFETY: no thread-local borrow is held across a blocking call.
        let h =
            unsafe { gort::Builder::new().name("deep").stack_size(64 << 10).spawn(|| recurse(0)) }.unwrap();
        let _ = h.join();
        unreachable!("the overflow must abort the process");
    }
    let out = common::run_child("stack_overflow_aborts_with_a_clear_message", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "stderr: {err}");
    assert!(err.contains("(\"deep\") overflowed its 64 KiB stack"), "stderr: {err}");
    assert!(err.contains("GORT_STACK_SIZE"), "stderr: {err}");
}

#[test]
fn overflow_of_default_stack_names_its_size() {
    if common::is_child() {
        gort::go!(|| recurse(0)).join().unwrap();
        unreachable!();
    }
    let out = common::run_child("overflow_of_default_stack_names_its_size", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("overflowed its 256 KiB stack"), "stderr: {err}");
}

#[test]
fn overflow_on_a_lent_stack_is_the_goroutines() {
    if common::is_child() {
        // SAFETY: no thread-local borrow is held across a blocking call.
        let h =
            unsafe { gort::Builder::new().name("lent").spawn(|| gort::warm_stack(|| recurse(0))) }.unwrap();
        let _ = h.join();
        unreachable!("the overflow must abort the process");
    }
    let out = common::run_child("overflow_on_a_lent_stack_is_the_goroutines", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "stderr: {err}");
    assert!(err.contains("(\"lent\") overflowed its 256 KiB stack"), "stderr: {err}");
}

#[test]
fn segfault_outside_a_stack_guard_is_not_called_an_overflow() {
    if common::is_child() {
        gort::go!(|| ()).join().unwrap();
        // SAFETY: deliberately faults to check the handler passes it on.
        unsafe { std::ptr::write_volatile(16 as *mut u8, 1) };
        unreachable!();
    }
    let out = common::run_child("segfault_outside_a_stack_guard_is_not_called_an_overflow", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "stderr: {err}");
    assert!(!err.contains("overflowed"), "stderr: {err}");
}
