//! Every fixture in `fixtures/manifest.json` probes as the manifest says: accepted
//! files with the right codec, tags, duration and cover; rejected files with the
//! right error class.

use std::fs;
use std::path::Path;

use cadenza_fixtures::{BadFile, Format, GoodFile, RejectReason};
use cadenza_media::{
    probe_file, resolve_tags, sniff, Codec, Container, MediaError, Probe, Tags, SNIFF_LEN,
};

fn expected_codec(format: Format) -> Codec {
    match format {
        Format::Mp3 => Codec::Mp3,
        Format::Flac => Codec::Flac,
        Format::Vorbis => Codec::Vorbis,
        Format::Opus => Codec::Opus,
        Format::M4a => Codec::Aac,
        Format::Wav => Codec::Wav,
    }
}

fn expected_container(format: Format) -> Container {
    match format {
        Format::Mp3 => Container::Mpeg,
        Format::Flac => Container::Flac,
        Format::Vorbis => Container::OggVorbis,
        Format::Opus => Container::OggOpus,
        Format::M4a => Container::Mp4,
        Format::Wav => Container::Wav,
    }
}

fn expected_code(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Empty => "empty_file",
        RejectReason::NotAudio => "not_audio",
        // A recognised MP3 that cannot be played in full, or at all: 422.
        RejectReason::Truncated | RejectReason::BogusTag => "unreadable_audio",
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
    let codec = expected_codec(good.format);
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
            tags.artist.is_none(),
            format!("{:?}", tags.artist),
        );
    } else {
        check(
            "title",
            tags.title.as_deref() == Some(good.title.as_str()),
            format!("{:?} != {:?}", tags.title, good.title),
        );
        check(
            "artist",
            tags.artist.as_deref() == Some(good.artist.as_str()),
            format!("{:?} != {:?}", tags.artist, good.artist),
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
        "genre",
        tags.genre == good.genre,
        format!("{:?} != {:?}", tags.genre, good.genre),
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
        "resolved artist",
        resolved.artist == good.artist,
        format!("{:?} != {:?}", resolved.artist, good.artist),
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
        let expected_words: &[&str] = match file.reason {
            RejectReason::Empty => &["empty"],
            RejectReason::NotAudio => &["not an audio file", "text"],
            RejectReason::Truncated => &["truncated", "promises"],
            RejectReason::BogusTag => &["ID3v2", "tag"],
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
        assert_eq!(
            sniff(head),
            Some(expected_container(file.format)),
            "{}",
            file.path
        );
    }
}

#[test]
fn content_decides_not_the_extension() {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in cadenza_fixtures::good_files().expect("fixture manifest") {
        let renamed = dir.path().join("renamed.txt");
        fs::copy(file.absolute_path(), &renamed).expect("copy");
        let probe = probe_file(&renamed).unwrap_or_else(|error| panic!("{}: {error}", file.path));
        assert_eq!(probe.codec, expected_codec(file.format), "{}", file.path);
    }
    // And text named like audio is still text.
    let fake = dir.path().join("song.flac");
    fs::write(&fake, "not really FLAC\n").expect("write");
    let error = probe_file(&fake).unwrap_err();
    assert_eq!(error.code(), "not_audio", "{error}");
}

/// Every accepted fixture, cut in half as an interrupted copy leaves it, is refused
/// as unreadable rather than catalogued with a length it cannot play. The exception
/// the manifest allows: an MP3 without a Xing/VBRI frame count is indistinguishable
/// from a shorter song, so it may be accepted, but with the length that is left.
#[test]
fn halved_fixtures_are_refused_or_shortened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    let mut mp3s_refused = 0;
    for file in cadenza_fixtures::good_files().expect("fixture manifest") {
        let bytes = fs::read(file.absolute_path()).expect("fixture readable");
        let cut = dir.path().join("cut");
        fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
        match probe_file(&cut) {
            Err(error) if error.code() == "unreadable_audio" => {
                mp3s_refused += usize::from(file.format == Format::Mp3);
            }
            Err(error) => failures.push(format!("{}: {} ({error})", file.path, error.code())),
            Ok(probe) if file.format == Format::Mp3 => {
                // Tags and headers sit in the kept half, so a little over half remains.
                let most = file.duration_ms * 55 / 100;
                if probe.duration_ms > most {
                    failures.push(format!(
                        "{}: accepted at half size with {} ms of {} ms",
                        file.path, probe.duration_ms, file.duration_ms
                    ));
                }
            }
            Ok(probe) => failures.push(format!(
                "{}: accepted at half size, {} ms",
                file.path, probe.duration_ms
            )),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        mp3s_refused >= 3,
        "the VBR MP3s carry a frame count and must be refused"
    );
}
