//! The `/debug/gort/` page as a browser shows it: Debian's `chromium`,
//! headless, loads it from a loopback server twice, with load generated in
//! between. The screenshots (PNG, decoded with `png`) must show the series
//! drawn in their colours, and differ; the DOM Chromium dumps must show the
//! goroutine figure rise by the goroutines parked in between. Without
//! chromium the test fails, naming it.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gort::http::{test, ServeMux};

/// The series colours of page.html: goroutines, switches/s, netpoll
/// wake-ups/s (the run-queue colours also colour its key, so they prove
/// nothing about the chart).
const SERIES: [(&str, [u8; 3]); 3] =
    [("goroutines", [0x1f, 0x77, 0xb4]), ("switches/s", [0xd6, 0x27, 0x28]), ("netpoll", [0x94, 0x67, 0xbd])];

/// Pixels of one series colour that make a drawn line (a 2 px line a few
/// seconds long on a 60 s axis is about 80).
const LINE_PIXELS: usize = 40;

/// Goroutines parked between the two loads.
const LOAD: usize = 2000;

/// Longest a Chromium run may take.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(90);

/// Runs headless Chromium on `url` with `mode` (`--screenshot=…` or
/// `--dump-dom`) and returns its stdout.
///
/// # Panics
/// When `chromium` is missing, fails, or runs past [`CHROMIUM_LIMIT`].
fn chromium(dir: &Path, mode: &str, url: &str) -> Vec<u8> {
    let profile = dir.join("profile");
    let mut child = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,700"])
        .args(["--virtual-time-budget=3000", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([mode, url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `chromium` (install Debian's chromium, as .ci/run does): {e}")
        });
    let mut out = Vec::new();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || stdout.read_to_end(&mut out).map(|_| out));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > CHROMIUM_LIMIT {
            let _ = child.kill();
            panic!("chromium {mode} {url} ran past {CHROMIUM_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "chromium {mode} {url}: {status}");
    reader.join().unwrap().unwrap()
}

/// An RGB image.
struct Shot {
    width: usize,
    rgb: Vec<[u8; 3]>,
}

fn screenshot(dir: &Path, name: &str, url: &str) -> Shot {
    let path: PathBuf = dir.join(name);
    chromium(dir, &format!("--screenshot={}", path.display()), url);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("no screenshot {}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{name}");
    let step = info.color_type.samples();
    assert!(step >= 3, "{name}: {:?}", info.color_type);
    let rgb = buf[..info.buffer_size()].chunks(step).map(|p| [p[0], p[1], p[2]]).collect();
    Shot { width: info.width as usize, rgb }
}

impl Shot {
    /// Pixels within a small distance of `colour` (a line's core, not its
    /// anti-aliased edge).
    fn count(&self, colour: [u8; 3]) -> usize {
        self.rgb.iter().filter(|p| p.iter().zip(colour).all(|(a, b)| a.abs_diff(b) <= 24)).count()
    }

    fn differing(&self, other: &Shot) -> usize {
        assert_eq!(self.width, other.width);
        self.rgb.iter().zip(&other.rgb).filter(|(a, b)| a != b).count()
    }
}

/// The goroutine figure in a DOM dump: `goroutines <b>N</b>`.
fn goroutine_figure(dom: &[u8]) -> u64 {
    let dom = String::from_utf8_lossy(dom);
    let at = dom.find("goroutines <b>").unwrap_or_else(|| panic!("no goroutine figure in {dom}"));
    let rest = &dom[at + "goroutines <b>".len()..];
    rest[..rest.find("</b>").unwrap()].parse().unwrap_or_else(|e| panic!("figure {rest:.20}: {e}"))
}

/// The number of samples in the server's history and the last one's
/// goroutine count.
fn history(srv: &test::Server) -> (usize, u64) {
    let mut c = std::net::TcpStream::connect(srv.addr()).unwrap();
    c.write_all(b"GET /debug/gort/history HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let body = &raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let samples = v["samples"].as_array().unwrap();
    (samples.len(), samples.last().map_or(0, |s| s["gs"].as_u64().unwrap()))
}

fn check_drawn(shot: &Shot, which: &str) {
    for (series, colour) in SERIES {
        let n = shot.count(colour);
        assert!(n >= LINE_PIXELS, "{which}: the {series} line has {n} pixels of its colour");
    }
}

#[test]
fn the_page_charts_the_runtime_and_follows_it() {
    let mut mux = ServeMux::new();
    mux.handle("/debug/gort/", gort::http::debug::handler());
    let srv = test::Server::new(mux);
    let url = srv.url("/debug/gort/");
    let dir = std::env::temp_dir().join(format!("gort-http-debug-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        common::wait_until(Duration::from_secs(20), || history(&srv).0 >= 6),
        "the sampler is not sampling"
    );

    let before = screenshot(&dir, "before.png", &url);
    check_drawn(&before, "first load");
    let gs_before = goroutine_figure(&chromium(&dir, "--dump-dom", &url));
    assert!(gs_before < LOAD as u64, "{gs_before} goroutines before the load");

    let (tx, rx) = gort::chan::bounded::<()>(0);
    let parked: Vec<_> = (0..LOAD)
        .map(|_| {
            let rx = rx.clone();
            gort::go!(move || {
                let _ = rx.recv();
            })
        })
        .collect();
    let loaded = common::wait_until(Duration::from_secs(20), || history(&srv).1 >= LOAD as u64);
    assert!(loaded, "the history never showed the load");

    let after = screenshot(&dir, "after.png", &url);
    check_drawn(&after, "second load");
    let changed = after.differing(&before);
    assert!(changed >= 1000, "only {changed} pixels changed between the loads");
    let gs_after = goroutine_figure(&chromium(&dir, "--dump-dom", &url));
    assert!(gs_after >= gs_before + LOAD as u64, "goroutines {gs_before} → {gs_after}");

    drop(tx);
    parked.into_iter().for_each(|h| h.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
