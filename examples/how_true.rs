//! How true is llmbench? Each scenario serves the simulator in a process of
//! its own (this example, re-run as `serve`), drives it with llmbench's own
//! client and with the smallest honest streaming client we could write (a
//! hyper connection per stream that reads, timestamps and counts, nothing
//! else), and holds both against the server's flush log — when the
//! simulator received each request and wrote each chunk.
//!
//! ```text
//! cargo run --release --example how_true              # every scenario
//! cargo run --release --example how_true -- 512 ingest # some of them
//! ```
//!
//! Scenarios: `64` (64 streams, TTFT 100 ms, ITL 10 ms, no warm-up), `64w`
//! (the same with warm connections), `512` (512 streams, TTFT 50 ms, ITL
//! 5 ms, 256 tokens), `ingest` (64 streams × 1024 tokens, no delays),
//! `10k` (10,000 streams warmed by 10,000 warm-up requests, TTFT 1 s, 32 tokens), `open` (5,000 requests/s
//! open loop, 8-token replies). docs/how-true.md holds the figures.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use llmbench::calibrate::{ClientRun, Load, Meter, llmbench_run};
use llmbench::sim::{Delay, SimConfig, SimServer};

/// One scenario: the server's delays and the load.
struct Scenario {
    name: &'static str,
    ttft_ms: u64,
    itl_ms: u64,
    tokens: u32,
    load: Load,
    requests: u32,
    /// Whether the reference client runs too (not for open loop).
    reference: bool,
}

fn scenarios() -> Vec<Scenario> {
    let closed = |streams, warmup| Load::Closed { streams, warmup };
    vec![
        Scenario {
            name: "64",
            ttft_ms: 100,
            itl_ms: 10,
            tokens: 32,
            load: closed(64, 0),
            requests: 64,
            reference: true,
        },
        Scenario {
            name: "64w",
            ttft_ms: 100,
            itl_ms: 10,
            tokens: 32,
            load: closed(64, 64),
            requests: 64,
            reference: false,
        },
        Scenario {
            name: "512",
            ttft_ms: 50,
            itl_ms: 5,
            tokens: 256,
            load: closed(512, 512),
            requests: 512,
            reference: true,
        },
        Scenario {
            name: "ingest",
            ttft_ms: 0,
            itl_ms: 0,
            tokens: 1024,
            load: closed(64, 64),
            requests: 640,
            reference: true,
        },
        Scenario {
            name: "10k",
            ttft_ms: 1000,
            itl_ms: 30,
            tokens: 32,
            load: closed(10_000, 10_000),
            requests: 10_000,
            reference: false,
        },
        Scenario {
            name: "open",
            ttft_ms: 5,
            itl_ms: 1,
            tokens: 8,
            load: Load::Open { rate: 5000.0 },
            requests: 25_000,
            reference: false,
        },
    ]
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve(&args[1..]);
    }
    llmbench::calibrate::raise_fd_limit();
    let chosen: Vec<Scenario> =
        scenarios().into_iter().filter(|s| args.is_empty() || args.iter().any(|a| a == s.name)).collect();
    println!("scenario client       TTFT p50/p99 ms     ITL p50/p99 ms    out tok/s   CPU s  RSS Δ MiB  notes");
    for s in &chosen {
        run_scenario(s)?;
    }
    Ok(())
}

fn run_scenario(s: &Scenario) -> std::io::Result<()> {
    let server = Server::start(s)?;
    let run = llmbench_run(&server.base_url(), s.load, s.requests, s.tokens)?;
    let truth = server.stop()?;
    print_llmbench(s, &run);
    print_truth(s, &truth);
    if s.reference {
        let server = Server::start(s)?;
        let Load::Closed { streams, warmup } = s.load else { return Ok(()) };
        let reference = reference::run(server.addr(), streams, warmup, s.requests, s.tokens)?;
        server.stop()?;
        print_reference(s, &reference);
    }
    Ok(())
}

/// The simulator, in a child process running this example as `serve`.
struct Server {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Server {
    fn start(s: &Scenario) -> std::io::Result<Server> {
        let log = std::env::temp_dir().join(format!("llmbench-how-true-{}-{}.jsonl", std::process::id(), s.name));
        let _ = std::fs::remove_file(&log);
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", &s.ttft_ms.to_string(), &s.itl_ms.to_string(), &s.tokens.to_string()])
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let port = line.trim().parse().map_err(|_| std::io::Error::other(format!("the server said {line:?}")))?;
        Ok(Server { child, port, log })
    }

    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Stops the server (closing its stdin) and reads its flush log.
    fn stop(mut self) -> std::io::Result<Vec<serde_json::Value>> {
        drop(self.child.stdin.take());
        self.child.wait()?;
        let text = std::fs::read_to_string(&self.log)?;
        let _ = std::fs::remove_file(&self.log);
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }
}

/// `serve TTFT_MS ITL_MS TOKENS LOG`: the simulator on a free port (printed
/// first), until stdin closes; then its flush log.
fn serve(args: &[String]) -> std::io::Result<()> {
    let num = |i: usize| args.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let config = SimConfig {
        ttft: Delay::Fixed(Duration::from_millis(num(0))),
        itl: Delay::Fixed(Duration::from_millis(num(1))),
        output_tokens: Some(num(2) as u32),
        record_flushes: true,
        ..SimConfig::default()
    };
    let log = args.get(3).cloned().unwrap_or_default();
    llmbench::calibrate::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let server = SimServer::bind(config, "127.0.0.1:0".parse().expect("an address")).await?;
        println!("{}", server.addr().port());
        std::io::stdout().flush()?;
        // Wait for the parent to close stdin, off the runtime.
        tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await.ok();
        let mut out = Vec::new();
        llmbench::sim::write_flush_log(&server.flushes(), &mut out);
        std::fs::write(&log, out)?;
        server.shutdown().await;
        Ok(())
    })
}

/// p50 and p99 of `values` (nearest rank), ms.
fn p50_p99(values: &mut [f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    (at(0.5), at(0.99))
}

/// One client's figures in a scenario: TTFT and ITL p50/p99 (ms), output
/// tokens/s, client CPU seconds, RSS growth (MiB).
struct Figures {
    ttft: (f64, f64),
    itl: (f64, f64),
    tok_s: f64,
    cpu: f64,
    rss: f64,
}

fn row(s: &Scenario, client: &str, f: Figures, notes: &str) {
    let Figures { ttft, itl, tok_s, cpu, rss } = f;
    println!(
        "{:<8} {:<10} {:>8.1} {:>8.1}   {:>7.2} {:>7.2}   {:>9.0}  {:>6.2}  {:>9.1}  {notes}",
        s.name, client, ttft.0, ttft.1, itl.0, itl.1, tok_s, cpu, rss
    );
}

fn print_llmbench(s: &Scenario, run: &ClientRun) {
    let ok: Vec<_> = run.records.iter().filter(|r| r.error.is_none()).collect();
    let mut ttft: Vec<f64> = ok.iter().filter_map(|r| r.ttft_ms).collect();
    let mut itl: Vec<f64> = ok.iter().flat_map(|r| r.gaps_us.iter().map(|&g| f64::from(g) / 1e3)).collect();
    let tokens: u64 = ok.iter().map(|r| r.output_tokens).sum();
    let start = run.records.iter().map(|r| r.start_us).min().unwrap_or(0);
    let end = run.records.iter().map(|r| r.start_us + (r.e2e_ms * 1e3) as u64).max().unwrap_or(start);
    let window = (end - start) as f64 / 1e6;
    let rss = (run.rss_peak_kib.saturating_sub(run.rss_start_kib)) as f64 / 1024.0;
    let mut lag: Vec<f64> = run.dispatch_lag_us.iter().map(|&v| v as f64 / 1e3).collect();
    let notes = match s.load {
        Load::Open { rate } => {
            let achieved = (ok.len().max(2) - 1) as f64 / window.max(1e-9);
            format!("offered {rate}/s achieved {achieved:.1}/s, lag p99 {:.2} ms", p50_p99(&mut lag).1)
        }
        Load::Closed { streams, .. } => {
            let per_stream = rss * 1024.0 / f64::from(streams);
            let failed = run.records.len() - ok.len();
            format!("{failed} failed, {per_stream:.1} KiB/stream")
        }
    };
    let tok_s = tokens as f64 / window.max(1e-9);
    let figures = Figures { ttft: p50_p99(&mut ttft), itl: p50_p99(&mut itl), tok_s, cpu: run.cpu_s, rss };
    row(s, "llmbench", figures, &notes);
}

fn print_truth(s: &Scenario, truth: &[serde_json::Value]) {
    let mut ttft: Vec<f64> = truth.iter().filter_map(|t| t["ttft_us"].as_f64()).map(|v| v / 1e3).collect();
    let mut itl: Vec<f64> = truth
        .iter()
        .filter_map(|t| t["flushes_us"].as_array())
        .flat_map(|f| {
            f.windows(2)
                .map(|w| (w[1].as_f64().unwrap_or(0.0) - w[0].as_f64().unwrap_or(0.0)) / 1e3)
                .collect::<Vec<_>>()
        })
        .collect();
    let note = format!("{} streams logged", truth.len());
    let figures =
        Figures { ttft: p50_p99(&mut ttft), itl: p50_p99(&mut itl), tok_s: f64::NAN, cpu: f64::NAN, rss: f64::NAN };
    row(s, "server", figures, &note);
}

fn print_reference(s: &Scenario, r: &reference::Run) {
    let (mut ttft, mut itl) = (r.ttft_ms.clone(), r.itl_ms.clone());
    let rss = (r.rss_peak_kib.saturating_sub(r.rss_start_kib)) as f64 / 1024.0;
    let note = format!("{} failed", r.failed);
    let tok_s = r.tokens as f64 / r.window_s.max(1e-9);
    let figures = Figures { ttft: p50_p99(&mut ttft), itl: p50_p99(&mut itl), tok_s, cpu: r.cpu_s, rss };
    row(s, "reference", figures, &note);
}

/// The reference client: one hyper HTTP/1.1 connection per stream, a
/// timestamp when each body frame is read, tokens counted in it. Nothing
/// else: no parsing beyond finding content, no records, no progress.
mod reference {
    use std::net::SocketAddr;
    use std::time::Instant;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;

    use super::Meter;

    /// What the reference client measured.
    pub struct Run {
        pub ttft_ms: Vec<f64>,
        pub itl_ms: Vec<f64>,
        pub tokens: u64,
        pub failed: u64,
        pub window_s: f64,
        pub cpu_s: f64,
        pub rss_start_kib: u64,
        pub rss_peak_kib: u64,
    }

    /// `streams` connections; `warmup + requests` requests spread over them
    /// (the first `warmup` not measured).
    pub fn run(addr: SocketAddr, streams: u32, warmup: u32, requests: u32, tokens: u32) -> std::io::Result<Run> {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let meter = Meter::start();
        let started = Instant::now();
        let results = runtime.block_on(async {
            let total = warmup + requests;
            let mut tasks = tokio::task::JoinSet::new();
            for s in 0..streams {
                let mine: Vec<u32> = (s..total).step_by(streams as usize).collect();
                tasks.spawn(stream(addr, mine, warmup, tokens));
            }
            let mut out = Vec::new();
            while let Some(done) = tasks.join_next().await {
                out.extend(done.unwrap_or_default());
            }
            out
        });
        let window_s = started.elapsed().as_secs_f64();
        let (cpu_s, rss_start_kib, rss_peak_kib) = meter.stop();
        let mut run =
            Run { ttft_ms: vec![], itl_ms: vec![], tokens: 0, failed: 0, window_s, cpu_s, rss_start_kib, rss_peak_kib };
        for r in results {
            match r {
                Some((ttft, gaps, n)) => {
                    run.ttft_ms.push(ttft);
                    run.itl_ms.extend(gaps);
                    run.tokens += n;
                }
                None => run.failed += 1,
            }
        }
        Ok(run)
    }

    type Measured = Option<(f64, Vec<f64>, u64)>;

    /// One connection, its requests in turn; a warm-up request is not returned.
    async fn stream(addr: SocketAddr, ids: Vec<u32>, warmup: u32, tokens: u32) -> Vec<Measured> {
        let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else { return ids.iter().map(|_| None).collect() };
        let _ = tcp.set_nodelay(true);
        let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await else {
            return ids.iter().map(|_| None).collect();
        };
        tokio::spawn(conn);
        let body = format!(
            r#"{{"model":"sim","stream":true,"max_tokens":{tokens},"messages":[{{"role":"user","content":"how true is it"}}]}}"#
        );
        let mut out = Vec::new();
        for id in ids {
            let measured = one(&mut sender, &body).await;
            if id >= warmup {
                out.push(measured);
            }
        }
        out
    }

    async fn one(sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>, body: &str) -> Measured {
        let request = hyper::Request::post("/v1/chat/completions")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .ok()?;
        let start = Instant::now();
        let mut response = sender.send_request(request).await.ok()?;
        let (mut first, mut last, mut gaps, mut count) = (None, None, Vec::new(), 0u64);
        while let Some(frame) = response.body_mut().frame().await {
            let at = Instant::now();
            let Some(data) = frame.ok()?.into_data().ok() else { continue };
            let n = content_chunks(&data);
            if n == 0 {
                continue;
            }
            if let Some(prev) = last {
                gaps.push(at.duration_since(prev).as_secs_f64() * 1e3);
            }
            first.get_or_insert(at);
            last = Some(at);
            count += n;
        }
        Some((first?.duration_since(start).as_secs_f64() * 1e3, gaps, count))
    }

    /// Content chunks in a read: `"content":"` followed by a character
    /// (the role chunk's empty content does not count).
    fn content_chunks(data: &[u8]) -> u64 {
        const KEY: &[u8] = b"\"content\":\"";
        data.windows(KEY.len() + 1).filter(|w| w.starts_with(KEY) && w[KEY.len()] != b'"').count() as u64
    }
}
