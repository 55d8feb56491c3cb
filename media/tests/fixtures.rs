//! Every fixture in `fixtures/manifest.json` probes as the manifest says: accepted
//! files with the right codec, tags, duration and cover; rejected files with the
//! right error class.

use std::fs;
use std::path::Path;

use cadenza_fixtures::{BadFile, Format, GoodFile, RejectReason};
use cadenza_media::{
    probe_file, resolve_tags, sniff, Codec, Container, MediaError, Probe, Tags, WarningCode,
    SNIFF_LEN,
};

/// The codec and container of an accepted format.
fn expected(format: Format) -> (Codec, Container) {
    match format {
        Format::Mp3 => (Codec::Mp3, Container::Mpeg),
        Format::Mp2 => (Codec::Mp2, Container::Mpeg),
        Format::Flac => (Codec::Flac, Container::Flac),
        Format::Vorbis => (Codec::Vorbis, Container::OggVorbis),
        Format::Opus => (Codec::Opus, Container::OggOpus),
        Format::M4a | Format::M4b => (Codec::Aac, Container::Mp4),
        Format::Alac => (Codec::Alac, Container::Mp4),
        Format::Aac => (Codec::Adts, Container::Adts),
        Format::Wav => (Codec::Wav, Container::Wav),
        Format::Aiff => (Codec::Aiff, Container::Aiff),
        other => panic!("{other:?} is no accepted format"),
    }
}

fn expected_code(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Empty => "empty_file",
        RejectReason::NotAudio => "not_audio",
        // A recognised file that cannot be played in full, or at all: 422.
        RejectReason::Truncated | RejectReason::BogusTag => "unreadable_audio",
        // Audio the player has no decoder for: 415.
        RejectReason::UnsupportedFormat => "unsupported_format",
    }
}

/// Differences between the probe and the manifest, one line each.
fn compare(good: &GoodFile, probe: &Probe) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{what}: {detail}"));
        }
    };
    let codec = expected(good.format).0;
    check(
        "codec",
        probe.codec == codec,
        format!("{:?} != {codec:?}", probe.codec),
    );
    let diff = probe.duration_ms.abs_diff(good.duration_ms);
    check(
        "duration",
        diff <= good.duration_tolerance_ms,
        format!(
            "{} ms, manifest {} ± {} ms",
            probe.duration_ms, good.duration_ms, good.duration_tolerance_ms
        ),
    );
    check(
        "sample rate",
        probe.sample_rate == Some(good.sample_rate),
        format!("{:?} != {}", probe.sample_rate, good.sample_rate),
    );
    check(
        "channels",
        probe.channels == Some(good.channels),
        format!("{:?} != {}", probe.channels, good.channels),
    );
    let tags = &probe.tags;
    if good.tags_missing {
        check(
            "no title tag",
            tags.title.is_none(),
            format!("{:?}", tags.title),
        );
        check(
            "no artist tag",
            tags.artists.is_empty(),
            format!("{:?}", tags.artists),
        );
    } else {
        check(
            "title",
            tags.title.as_deref() == Some(good.title.as_str()),
            format!("{:?} != {:?}", tags.title, good.title),
        );
        check(
            "artists",
            tags.artists == good.artists,
            format!("{:?} != {:?}", tags.artists, good.artists),
        );
    }
    check(
        "album",
        tags.album == good.album,
        format!("{:?} != {:?}", tags.album, good.album),
    );
    check(
        "album artist",
        tags.album_artist == good.album_artist,
        format!("{:?} != {:?}", tags.album_artist, good.album_artist),
    );
    check(
        "genres",
        tags.genres == good.genres,
        format!("{:?} != {:?}", tags.genres, good.genres),
    );
    let warnings: Vec<&str> = probe.warnings.iter().map(|w| w.code.name()).collect();
    check(
        "warnings",
        warnings == good.warnings,
        format!("{:?} != {:?}", probe.warnings, good.warnings),
    );
    check(
        "track",
        tags.track == good.track,
        format!("{:?} != {:?}", tags.track, good.track),
    );
    check(
        "disc",
        tags.disc == good.disc,
        format!("{:?} != {:?}", tags.disc, good.disc),
    );
    let year = good.year.map(i32::from);
    check(
        "year",
        tags.year == year,
        format!("{:?} != {year:?}", tags.year),
    );
    let cover_type = probe
        .cover
        .as_ref()
        .map(|cover| cover.content_type.as_str());
    check(
        "cover",
        cover_type == good.cover_mime.as_deref(),
        format!("{cover_type:?} != {:?}", good.cover_mime),
    );
    if let Some(cover) = &probe.cover {
        check(
            "cover bytes",
            cover.bytes.len() > 100,
            format!("{} bytes", cover.bytes.len()),
        );
    }
    // What the catalog will show, fallbacks included.
    let file_name = Path::new(&good.path)
        .file_name()
        .and_then(|name| name.to_str());
    let resolved = resolve_tags(tags, &Tags::default(), file_name);
    check(
        "resolved title",
        resolved.title == good.title,
        format!("{:?} != {:?}", resolved.title, good.title),
    );
    check(
        "resolved artists",
        resolved.artists == good.artists,
        format!("{:?} != {:?}", resolved.artists, good.artists),
    );
    let flagged = resolved.missing.contains(&"title") && resolved.missing.contains(&"artist");
    check(
        "missing flags",
        flagged == good.tags_missing,
        format!(
            "{:?} with tags_missing {}",
            resolved.missing, good.tags_missing
        ),
    );
    problems
}

#[test]
fn every_accepted_fixture_probes_as_the_manifest_says() {
    let good = cadenza_fixtures::good_files().expect("fixture manifest");
    assert!(
        good.len() >= 10,
        "expected a real fixture library, found {}",
        good.len()
    );
    let mut failures = Vec::new();
    for file in &good {
        match probe_file(&file.absolute_path()) {
            Ok(probe) => {
                for problem in compare(file, &probe) {
                    failures.push(format!("{}: {problem}", file.path));
                }
            }
            Err(error) => failures.push(format!("{}: refused: {error}", file.path)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check_refusal(file: &BadFile, result: Result<Probe, MediaError>) -> Option<String> {
    let expected = expected_code(file.reason);
    match result {
        Ok(probe) => Some(format!(
            "{}: accepted ({probe:?}), expected {expected}",
            file.path
        )),
        Err(error) if error.code() != expected => Some(format!(
            "{}: {} ({error}), expected {expected}",
            file.path,
            error.code()
        )),
        Err(_) => None,
    }
}

#[test]
fn every_rejected_fixture_gets_the_expected_error_class() {
    let bad = cadenza_fixtures::bad_files().expect("fixture manifest");
    assert!(!bad.is_empty());
    let failures: Vec<String> = bad
        .iter()
        .filter_map(|file| check_refusal(file, probe_file(&file.absolute_path())))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn refusal_messages_name_the_problem() {
    for file in cadenza_fixtures::bad_files().expect("fixture manifest") {
        let Err(error) = probe_file(&file.absolute_path()) else {
            panic!("{} was accepted", file.path);
        };
        let message = error.to_string();
        let name = file.unsupported_format.as_deref().unwrap_or_default();
        let expected_words: &[&str] = match file.reason {
            RejectReason::Empty => &["empty"],
            RejectReason::NotAudio => &["not an audio file", "text"],
            RejectReason::Truncated => &["truncated", "promises"],
            RejectReason::BogusTag => &["ID3v2", "tag"],
            RejectReason::UnsupportedFormat => &["unsupported format", name, "convert it to FLAC"],
        };
        for word in expected_words {
            assert!(
                message.contains(word),
                "{}: {message:?} lacks {word:?}",
                file.path
            );
        }
        // The file's fault (the server answers 415 or 422), never a failed read (500).
        assert!(
            !matches!(error, MediaError::Io(_)),
            "{}: {error}",
            file.path
        );
    }
}

#[test]
fn sniffing_fixture_heads() {
    for file in cadenza_fixtures::good_files().expect("fixture manifest") {
        let bytes = fs::read(file.absolute_path()).expect("fixture readable");
        let head = &bytes[..bytes.len().min(SNIFF_LEN)];
        assert_eq!(sniff(head), Some(expected(file.format).1), "{}", file.path);
    }
}

#[test]
fn content_decides_not_the_extension() {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in cadenza_fixtures::good_files().expect("fixture manifest") {
        let renamed = dir.path().join("renamed.txt");
        fs::copy(file.absolute_path(), &renamed).expect("copy");
        let probe = probe_file(&renamed).unwrap_or_else(|error| panic!("{}: {error}", file.path));
        assert_eq!(probe.codec, expected(file.format).0, "{}", file.path);
    }
    // And text named like audio is still text.
    let fake = dir.path().join("song.flac");
    fs::write(&fake, "not really FLAC\n").expect("write");
    let error = probe_file(&fake).unwrap_err();
    assert_eq!(error.code(), "not_audio", "{error}");
}

/// Every accepted fixture, cut in half as an interrupted copy leaves it, is refused
/// as unreadable rather than catalogued with a length it cannot play, except MPEG and raw
/// AAC: their frames are counted, so a cut file is accepted with the length that is left,
/// and an MP3 is reported as truncated when its header promised the whole.
#[test]
fn halved_fixtures_are_refused_or_shortened() {
    let counted = |format| matches!(format, Format::Mp3 | Format::Mp2 | Format::Aac);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    let mut mp3s_flagged = 0;
    for file in cadenza_fixtures::good_files().expect("fixture manifest") {
        let bytes = fs::read(file.absolute_path()).expect("fixture readable");
        let cut = dir.path().join("cut");
        fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
        match probe_file(&cut) {
            Err(error) if error.code() == "unreadable_audio" && !counted(file.format) => {}
            Err(error) => failures.push(format!("{}: {} ({error})", file.path, error.code())),
            Ok(probe) if counted(file.format) => {
                // Tags and headers sit in the kept half, so a little over half remains.
                let most = file.duration_ms * 55 / 100;
                if probe.duration_ms > most {
                    failures.push(format!(
                        "{}: accepted at half size with {} ms of {} ms",
                        file.path, probe.duration_ms, file.duration_ms
                    ));
                }
                let truncated = probe
                    .warnings
                    .iter()
                    .any(|warning| warning.code == WarningCode::Truncated);
                mp3s_flagged += usize::from(truncated);
            }
            Ok(probe) => failures.push(format!(
                "{}: accepted at half size, {} ms",
                file.path, probe.duration_ms
            )),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        mp3s_flagged >= 3,
        "MP3s whose header promises their whole length must be flagged as truncated"
    );
}
