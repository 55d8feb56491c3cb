//! The last gate: open the file with the player's own decoder (symphonia 0.5, set up
//! as tui-player sets it up, and shown the file through the same [`DecoderInput`]) and
//! decode its first packets. Structural checks explain most refusals precisely; this one
//! catches whatever they do not model, such as an ID3v2 frame symphonia 0.5 cannot parse
//! or an AAC variant it cannot decode.

use std::io::{self, Read, Seek};

use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::decoder_input::DecoderInput;
use crate::error::MediaError;
use crate::sniff::Container;

/// Packets to try before concluding nothing decodes (players skip damaged packets).
const PACKETS_TO_TRY: usize = 64;

/// Opens `source` from byte `start` (past an ID3v2 tag too big to hand over) and
/// decodes until one packet yields audio.
pub(crate) fn check<R>(source: R, start: u64, container: Container) -> Result<(), MediaError>
where
    R: Read + Seek + Send + Sync + 'static,
{
    let source = DecoderInput::from_offset(source, start)?;
    let stream = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
    let format_options = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let cannot_open = |error: SymphoniaError| {
        MediaError::unreadable(format!(
            "the player's decoder cannot open this {} file ({error}); it is damaged, \
             re-encode it from the source",
            container.name()
        ))
    };
    let mut format = symphonia::default::get_probe()
        .format(
            &Hint::new(),
            stream,
            &format_options,
            &MetadataOptions::default(),
        )
        .map_err(cannot_open)?
        .format;
    let track = format
        .tracks()
        .iter()
        .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| {
            MediaError::unreadable(format!(
                "the player's decoder finds no audio track in this {} file; re-encode it \
                 from the source",
                container.name()
            ))
        })?;
    let track_id = track.id;
    if track.codec_params.codec == CODEC_TYPE_OPUS {
        // The player decodes Opus with its own adapter, not symphonia: reaching the
        // first packet is what can be checked here.
        return next_packet_of(&mut *format, track_id)
            .map_err(cannot_open)?
            .map(|_| ())
            .ok_or_else(|| MediaError::unreadable("the Opus stream holds no audio packet"));
    }
    let codecs = symphonia::default::get_codecs();
    let mut decoder = codecs
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|error| {
            let codec = codecs
                .get_codec(track.codec_params.codec)
                .map_or("audio", |descriptor| descriptor.short_name);
            let convert = if container == Container::Mp4 {
                "`ffmpeg -i INPUT -c:a aac -b:a 256k OUTPUT.m4a` (plain AAC-LC)"
            } else {
                "`ffmpeg -i INPUT -c:a flac OUTPUT.flac`"
            };
            MediaError::unsupported(
                format!("{codec} (this variant) in {}", container.name()),
                format!(
                    "the player's decoder cannot decode it ({error}); convert it, e.g. {convert}"
                ),
            )
        })?;
    let mut last_error = None;
    for _ in 0..PACKETS_TO_TRY {
        let Some(packet) = next_packet_of(&mut *format, track_id).map_err(cannot_open)? else {
            break;
        };
        match decoder.decode(&packet) {
            Ok(decoded) if decoded.frames() > 0 => return Ok(()),
            Ok(_) => {}
            Err(SymphoniaError::DecodeError(error)) => last_error = Some(error.to_string()),
            Err(error) => return Err(cannot_open(error)),
        }
    }
    Err(MediaError::unreadable(format!(
        "the player's decoder could not decode any audio from this {} file{}; it is \
         damaged, re-encode it from the source",
        container.name(),
        last_error
            .map(|error| format!(" ({error})"))
            .unwrap_or_default()
    )))
}

/// The next packet of `track_id`; `None` at the end of the stream.
fn next_packet_of(
    format: &mut dyn symphonia::core::formats::FormatReader,
    track_id: u32,
) -> Result<Option<symphonia::core::formats::Packet>, SymphoniaError> {
    loop {
        match format.next_packet() {
            Ok(packet) if packet.track_id() == track_id => return Ok(Some(packet)),
            Ok(_) => {}
            Err(SymphoniaError::IoError(error)) if error.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(None)
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(cadenza_fixtures::fixtures_dir().join(path)).expect("fixture")
    }

    #[test]
    fn opens_what_the_player_opens() {
        for (path, container) in [
            (
                "audio/Björk/Frequency Garden/01 Glacier Hum.mp3",
                Container::Mpeg,
            ),
            (
                "audio/The Oscillators/Opus Numbers/01 Opus No. 1.opus",
                Container::OggOpus,
            ),
            (
                "audio/Various Artists/Test Card Classics/02 Ring Back.m4a",
                Container::Mp4,
            ),
        ] {
            let result = check(Cursor::new(fixture(path)), 0, container);
            assert!(result.is_ok(), "{path}: {result:?}");
        }
    }

    /// The decoder fails on its own, without the structural ID3v2 check that refuses
    /// this file first in a full probe.
    #[test]
    fn refuses_what_symphonia_0_5_cannot_open() {
        let bytes = fixture("bad/huge-tag-frame.mp3");
        let error = check(Cursor::new(bytes.clone()), 0, Container::Mpeg).unwrap_err();
        assert_eq!(error.code(), "unreadable_audio");
        assert!(
            error.to_string().contains("player's decoder cannot open"),
            "{error}"
        );
        // Past the tag, the same audio plays.
        let tag_len = 10 + 128;
        assert!(check(Cursor::new(bytes), tag_len, Container::Mpeg).is_ok());
    }
}
