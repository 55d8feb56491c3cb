//! Turns encoded audio (any [`MediaSource`]: a cached file or a file still downloading) into
//! interleaved `f32` samples, one packet at a time. This is the only decode path the player has;
//! the tests decode fixtures through it too.

use std::sync::OnceLock;
use std::time::Duration;

use cadenza_media::DecoderInput;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{
    CodecRegistry, Decoder, DecoderOptions, CODEC_TYPE_MP3, CODEC_TYPE_NULL,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, Packet, SeekMode, SeekTo};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::units::Time;

use super::opus::OpusAdapter;

/// Why a track could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported or unrecognised audio format ({0})")]
    Unsupported(String),
    #[error("the file has no audio track")]
    NoTrack,
    #[error("cannot read the audio: {0}")]
    Io(String),
    #[error("the audio is damaged: {0}")]
    Corrupt(String),
}

impl From<SymphoniaError> for DecodeError {
    fn from(e: SymphoniaError) -> Self {
        match e {
            SymphoniaError::IoError(e) => DecodeError::Io(e.to_string()),
            SymphoniaError::Unsupported(what) => DecodeError::Unsupported(what.to_string()),
            other => DecodeError::Corrupt(other.to_string()),
        }
    }
}

/// Symphonia's codecs plus our Opus adapter.
fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<OpusAdapter>();
        registry
    })
}

/// Sample format of the chunks a [`Decoded`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub rate: u32,
    pub channels: u16,
}

/// An open audio stream that yields decoded packets.
pub struct Decoded {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    /// Allocated at the first packet, regrown when a packet is larger.
    samples: Option<SampleBuffer<f32>>,
    spec: Format,
    duration: Option<Duration>,
    /// Frames still to drop after a seek landed before the wanted time.
    skip_frames: u64,
    /// Set when the stream stopped on an error rather than at its end.
    failure: Option<String>,
    /// Set by a seek to the end: the track is over, though the reader is not.
    ended: bool,
    /// Frames the gapless trimming cut from the end of an MP3 so far, and the most it
    /// should: the encoder's padding (`None` for other codecs, whose containers state
    /// exact lengths).
    trimmed_at_end: u64,
    padding: Option<u64>,
    /// The stream goes on past the length its header states (MP3s joined without
    /// rewriting the Xing header): play the rest rather than trimming it as padding. The
    /// server catalogues such a file with the length of its frames.
    header_short: bool,
}

impl Decoded {
    /// Probes `source` and prepares its first audio track. `hint` is a file extension or MIME
    /// type when known (it only speeds up probing).
    pub fn open(source: Box<dyn MediaSource>, hint: Option<&str>) -> Result<Self, DecodeError> {
        // Shown as the server's upload check was shown it, so whatever it accepted opens.
        let source = DecoderInput::new(source).map_err(|e| DecodeError::Io(e.to_string()))?;
        let stream = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
        let mut probe_hint = Hint::new();
        if let Some(hint) = hint {
            if hint.contains('/') {
                probe_hint.mime_type(hint);
            } else {
                probe_hint.with_extension(hint);
            }
        }
        let format_options = FormatOptions {
            // Trim encoder delay and padding so albums play without clicks between tracks.
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe().format(
            &probe_hint,
            stream,
            &format_options,
            &MetadataOptions::default(),
        )?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or(DecodeError::NoTrack)?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let decoder = codecs().make(&params, &DecoderOptions::default())?;
        let duration = params
            .time_base
            .zip(params.n_frames)
            .map(|(base, frames)| time_to_duration(base.calc_time(frames)));
        let rate = params.sample_rate.unwrap_or(44_100);
        let channels = params.channels.map_or(2, |c| c.count() as u16);
        Ok(Self {
            format,
            decoder,
            track_id,
            samples: None,
            spec: Format { rate, channels },
            duration,
            skip_frames: 0,
            failure: None,
            ended: false,
            trimmed_at_end: 0,
            padding: (params.codec == CODEC_TYPE_MP3)
                .then(|| u64::from(params.padding.unwrap_or(0))),
            header_short: false,
        })
    }

    /// Length of the track, when the container says.
    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// Format of the last chunk (before the first chunk: what the container announced).
    pub fn format(&self) -> Format {
        self.spec
    }

    /// Why the stream ended early, if it did.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The next packet's samples, interleaved, with their format; `None` at the end of the
    /// stream (or on an error, then [`Decoded::failure`] says which).
    pub fn next_chunk(&mut self) -> Option<(Format, &[f32])> {
        if self.ended {
            return None;
        }
        let range = loop {
            let mut packet = match self.format.next_packet() {
                Ok(packet) => packet,
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return None
                }
                Err(SymphoniaError::ResetRequired) => {
                    self.decoder.reset();
                    continue;
                }
                Err(e) => {
                    self.failure = Some(DecodeError::from(e).to_string());
                    return None;
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            self.untrim_past_the_header(&mut packet);
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                // A damaged packet is skipped, as every player does.
                Err(SymphoniaError::DecodeError(_)) => continue,
                Err(e) => {
                    self.failure = Some(DecodeError::from(e).to_string());
                    return None;
                }
            };
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            let spec = *decoded.spec();
            let needed = decoded.capacity() * spec.channels.count();
            if self.samples.as_ref().is_none_or(|b| b.capacity() < needed) {
                self.samples = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
            }
            if let Some(samples) = &mut self.samples {
                samples.copy_interleaved_ref(decoded);
            }
            self.spec = Format {
                rate: spec.rate,
                channels: spec.channels.count() as u16,
            };
            let channels = usize::from(self.spec.channels);
            let skip = (self.skip_frames as usize).min(frames);
            self.skip_frames -= skip as u64;
            if skip == frames {
                continue;
            }
            break (skip * channels, frames * channels);
        };
        let samples = self.samples.as_ref()?;
        Some((self.spec, &samples.samples()[range.0..range.1]))
    }

    /// Gapless MP3 playback trims what lies past the Xing header's length as encoder
    /// padding; more than the padding means the header is short of the stream, and the
    /// rest is audio.
    fn untrim_past_the_header(&mut self, packet: &mut Packet) {
        let Some(padding) = self.padding else { return };
        if !self.header_short && packet.trim_end > 0 {
            self.trimmed_at_end += u64::from(packet.trim_end);
            self.header_short = self.trimmed_at_end > padding;
        }
        if self.header_short {
            packet.dur += u64::from(packet.trim_end);
            packet.trim_end = 0;
        }
    }

    /// Moves to `target` (clamped to the track); returns where playback now starts.
    /// Seeking to or past the end ends the track, as holding → on any player does: some
    /// demuxers (FLAC) refuse a seek to the very last sample.
    pub fn seek(&mut self, target: Duration) -> Result<Duration, DecodeError> {
        let past_the_end = |total: &Duration| target >= *total && !self.header_short;
        if let Some(total) = self.duration.filter(past_the_end) {
            self.ended = true;
            return Ok(total);
        }
        self.ended = false;
        self.trimmed_at_end = 0;
        let seeked = self.format.seek(
            SeekMode::Accurate,
            SeekTo::Time {
                time: Time::new(target.as_secs(), f64::from(target.subsec_nanos()) / 1e9),
                track_id: Some(self.track_id),
            },
        )?;
        self.decoder.reset();
        self.failure = None;
        let base = self.decoder.codec_params().time_base;
        let late = seeked.required_ts.saturating_sub(seeked.actual_ts);
        self.skip_frames = match base {
            Some(base) => {
                let gap = time_to_duration(base.calc_time(late));
                (gap.as_secs_f64() * f64::from(self.spec.rate)).round() as u64
            }
            None => 0,
        };
        Ok(match base {
            Some(base) => time_to_duration(base.calc_time(seeked.required_ts)),
            None => target,
        })
    }
}

fn time_to_duration(time: Time) -> Duration {
    Duration::from_secs(time.seconds) + Duration::from_secs_f64(time.frac.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let bytes = std::io::Cursor::new(vec![0x42u8; 4096]);
        let err = Decoded::open(Box::new(ReadOnly(bytes)), None)
            .err()
            .expect("random bytes must not open");
        assert!(
            matches!(err, DecodeError::Unsupported(_) | DecodeError::Io(_)),
            "{err:?}"
        );
    }

    struct ReadOnly(std::io::Cursor<Vec<u8>>);
    impl std::io::Read for ReadOnly {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl std::io::Seek for ReadOnly {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.0.seek(pos)
        }
    }
    impl MediaSource for ReadOnly {
        fn is_seekable(&self) -> bool {
            true
        }
        fn byte_len(&self) -> Option<u64> {
            Some(self.0.get_ref().len() as u64)
        }
    }
}
