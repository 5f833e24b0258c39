use super::*;

fn layer(toml_text: &str) -> SettingsLayer {
    toml::from_str(toml_text).unwrap()
}

fn file(table: &str) -> Source {
    Source::Config { path: "llmbench.toml".into(), table: table.into(), line: 1 }
}

const ATTR: Source = Source::Attribute { file: "benches/b.rs", line: 7 };

fn resolve(layers: &[(&Source, &SettingsLayer)]) -> Result<Settings, SettingsError> {
    let layers: Vec<Layer<'_>> = layers.iter().map(|(source, settings)| Layer { source, settings }).collect();
    Settings::resolve(&layers, |_, _| Ok(()))
}

#[test]
fn defaults_when_nothing_is_set() {
    let s = resolve(&[]).unwrap();
    assert_eq!((s.samples, s.warmup, s.targets.as_slice()), (DEFAULT_SAMPLES, DEFAULT_WARMUP, &["sim".to_owned()][..]));
    assert_eq!(s.load.shape, Shape::Levels(vec![Level::Concurrency(1)]));
    assert_eq!((s.timeout, s.load.grace), (DEFAULT_TIMEOUT, DEFAULT_GRACE));
    assert_eq!(s.load.slo, Slo::default());
}

#[test]
fn layers_resolve_in_order() {
    let attr = layer("concurrency = [1, 8]\nrate = \"20/s\"\nduration = \"30s\"\nsamples = 5\n");
    let defaults = layer("arrival = \"constant\"\nmax_in_flight = 4\nsamples = 9\ntimeout = \"10s\"\n");
    let d = file("defaults");
    let s = resolve(&[(&ATTR, &attr), (&d, &defaults)]).unwrap();
    assert_eq!(s.load.shape, Shape::Levels(vec![Level::Rate(20.0)]), "rate beats concurrency in a layer");
    assert_eq!((s.load.arrival, s.load.max_in_flight, s.samples), (Arrival::Constant, Some(4), 5));
    let ten = Duration::from_secs(10);
    assert_eq!((s.load.duration, s.load.grace), (Some(Duration::from_secs(30)), ten), "grace capped at the timeout");

    let flags = layer("concurrency = 2");
    let s = resolve(&[(&Source::Flags, &flags), (&ATTR, &attr)]).unwrap();
    assert_eq!(s.load.shape, Shape::Levels(vec![Level::Concurrency(2)]), "flags win as a whole shape");

    let bench = layer("sweep = \"auto\"");
    let b = file("benches.b");
    let s = resolve(&[(&b, &bench), (&ATTR, &attr)]).unwrap();
    assert_eq!(s.load.shape, Shape::Auto(Level::Concurrency(1)));
    assert_eq!(s.load.duration, Some(Duration::from_secs(30)), "other keys still come from lower layers");

    let staged = layer("stages = \"spike:5/s*2\"");
    let s = resolve(&[(&Source::Flags, &staged), (&ATTR, &attr)]).unwrap();
    assert!(matches!(s.load.shape, Shape::Stages(_)) && s.load.duration.is_none());
}

#[test]
fn limits_of_every_layer_apply_with_their_source() {
    let flags = layer("limits = [\"error_rate<=1%\"]");
    let attr = layer("limits = [\"ttft.p90<=500ms\"]");
    let d = file("defaults");
    let defaults = layer("limits = [\"ttft.p50=+5%\"]");
    let s = resolve(&[(&Source::Flags, &flags), (&ATTR, &attr), (&d, &defaults)]).unwrap();
    let got: Vec<(String, String)> = s.limits.iter().map(|l| (l.limit.to_string(), l.source.clone())).collect();
    assert_eq!(
        got,
        [
            ("error_rate<=1%".to_owned(), "--limit".to_owned()),
            ("ttft.p90<=500ms".to_owned(), "#[llm_bench]".to_owned()),
            ("ttft.p50=+5%".to_owned(), "llmbench.toml".to_owned()),
        ]
    );
}

#[test]
fn a_bad_param_names_the_layer_that_set_it() {
    let b = file("benches.summarise");
    let bench = layer("params = { temprature = [0.5] }");
    let layers = [Layer { source: &b, settings: &bench }];
    let e = Settings::resolve(&layers, |k, _| Err(format!("unknown param {k:?}"))).unwrap_err();
    assert_eq!(e.to_string(), "llmbench.toml:1: [benches.summarise]: params: unknown param \"temprature\"");
    let s = Settings::resolve(&layers, |_, _| Ok(())).unwrap();
    assert_eq!(s.params, [("temprature".to_owned(), vec!["0.5".to_owned()])]);
}

#[test]
fn params_keep_their_text() {
    let s = resolve(&[(&ATTR, &layer("params = { temperature = [0.0, 0.7], max_tokens = [256] }"))]).unwrap();
    assert_eq!(
        s.params,
        [
            ("temperature".to_owned(), vec!["0.0".to_owned(), "0.7".to_owned()]),
            ("max_tokens".to_owned(), vec!["256".to_owned()]),
        ],
        "in the order written"
    );
}
