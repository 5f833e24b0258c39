use std::collections::BTreeMap;

use super::*;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

fn auto(count: Option<u32>, vars: &[(&str, &str)]) -> Result<FoundShard, String> {
    ShardSpec::Auto.resolve(count, &env(vars))
}

#[test]
fn shards_are_numbered_from_one() {
    assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
    assert_eq!(" 1 / 1 ".parse::<Shard>().map(Shard::label), Ok("1/1".into()));
    for bad in ["0/4", "5/4", "1/0", "x/4", "2", "2/4/6", "-1/4", "1/20000"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
    assert!("0/4".parse::<Shard>().unwrap_err().contains("numbered 1 to 4"));
    assert_eq!(ShardSpec::parse("AUTO"), Ok(ShardSpec::Auto));
}

#[test]
fn auto_reads_a_kubernetes_indexed_job_with_the_count_it_is_given() {
    let found = auto(Some(4), &[("JOB_COMPLETION_INDEX", "0")]).unwrap();
    assert_eq!((found.shard.label(), found.source.as_str()), ("1/4".into(), "JOB_COMPLETION_INDEX"));
    let e = auto(None, &[("JOB_COMPLETION_INDEX", "3")]).unwrap_err();
    assert!(e.contains("Kubernetes Indexed Job") && e.contains(SHARD_COUNT_ENV), "{e}");
    let e = auto(Some(4), &[("JOB_COMPLETION_INDEX", "4")]).unwrap_err();
    assert!(e.contains("JOB_COMPLETION_INDEX=4") && e.contains("does not exist"), "{e}");
    assert!(auto(Some(4), &[("JOB_COMPLETION_INDEX", "two")]).unwrap_err().contains("not a shard index"));
}

#[test]
fn auto_reads_aws_batch_jobs() {
    let node = [("AWS_BATCH_JOB_NODE_INDEX", "2"), ("AWS_BATCH_JOB_NUM_NODES", "3")];
    assert_eq!(auto(None, &node).unwrap().shard.label(), "3/3", "a multi-node job says how many nodes");
    let array = [("AWS_BATCH_JOB_ARRAY_INDEX", "5")];
    assert_eq!(auto(Some(8), &array).unwrap().shard.label(), "6/8");
    assert!(auto(None, &array).unwrap_err().contains("an AWS Batch array job"));
    let e = auto(None, &[]).unwrap_err();
    assert!(e.contains("JOB_COMPLETION_INDEX, AWS_BATCH_JOB_NODE_INDEX, AWS_BATCH_JOB_ARRAY_INDEX"), "{e}");
    assert!(e.contains("--shard INDEX/COUNT"), "{e}");
}

#[test]
fn an_explicit_shard_wins_and_must_agree_with_the_count() {
    let fixed = ShardSpec::parse("2/4").unwrap();
    let found = fixed.resolve(None, &env(&[("JOB_COMPLETION_INDEX", "0")])).unwrap();
    assert_eq!((found.shard.label(), found.source.as_str()), ("2/4".into(), "--shard"));
    assert!(fixed.resolve(Some(3), &env(&[])).unwrap_err().contains("disagrees with --shard-count 3"));
}

#[test]
fn start_times_in_rfc3339_or_unix_seconds() {
    let t = StartAt::parse("2026-11-28T01:46:48Z").unwrap();
    assert_eq!(t.unix_us, 1_795_830_408_000_000);
    assert_eq!(StartAt::parse("1795830408").unwrap(), t);
    assert_eq!(StartAt::parse("2026-11-28T03:46:48.25+02:00").unwrap().unix_us, t.unix_us + 250_000);
    assert_eq!(StartAt::parse("2026-11-27 20:46:48-05:00").unwrap(), t);
    assert_eq!(StartAt::parse("1795830408.5").unwrap().unix_us, t.unix_us + 500_000);
    assert_eq!(StartAt::parse("2000-02-29T00:00:00z").unwrap().unix_us, 951_782_400_000_000);
    assert_eq!(t.rfc3339(), "2026-11-28T01:46:48.000Z");
    for bad in [
        "tomorrow",
        "2026-11-28T01:46:48",
        "2026-02-30T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T01:46:48.Z",
        "",
        "-5",
    ] {
        let e = StartAt::parse(bad).unwrap_err();
        assert!(e.starts_with("invalid start time") && e.contains("RFC 3339"), "{bad}: {e}");
    }
}

#[test]
fn a_start_time_in_the_past_is_refused() {
    let now = UNIX_EPOCH + Duration::from_secs(1_795_830_408);
    let past = StartAt::parse("2026-11-28T01:46:00Z").unwrap();
    let e = past.check_future(now).unwrap_err();
    assert!(e.contains("48.0 s in the past") && e.contains("give every shard a later time"), "{e}");
    assert!(StartAt::parse("2026-11-28T01:47:00Z").unwrap().check_future(now).is_ok());
    assert!(StartAt::parse("1795830408").unwrap().check_future(now).is_err(), "now is not the future");
}
