//! Opus for symphonia 0.5: its Ogg demuxer hands out Opus packets but it has no Opus decoder,
//! so this adapter wraps the pure-Rust `opus-decoder` crate (no C library to install).

use opus_decoder::{OpusDecoder, OpusMultistreamDecoder};
use symphonia::core::audio::{AsAudioBufferRef, AudioBuffer, AudioBufferRef, Signal, SignalSpec};
use symphonia::core::codecs::{
    CodecDescriptor, CodecParameters, Decoder, DecoderOptions, FinalizeResult, CODEC_TYPE_OPUS,
};
use symphonia::core::errors::{decode_error, unsupported_error, Result};
use symphonia::core::formats::Packet;
use symphonia::core::support_codec;

/// Opus always decodes at 48 kHz, whatever rate the encoder was fed.
const RATE: u32 = 48_000;
/// The longest Opus packet is 120 ms.
const MAX_FRAMES: usize = RATE as usize * 120 / 1000;

enum Inner {
    Plain(Box<OpusDecoder>),
    Multistream(Box<OpusMultistreamDecoder>),
}

impl Inner {
    fn decode(&mut self, data: &[u8], pcm: &mut [f32]) -> std::result::Result<usize, String> {
        let result = match self {
            Inner::Plain(d) => d.decode_float(data, pcm, false),
            Inner::Multistream(d) => d.decode_float(data, pcm, false),
        };
        result.map_err(|e| e.to_string())
    }

    fn reset(&mut self) {
        match self {
            Inner::Plain(d) => d.reset(),
            Inner::Multistream(d) => d.reset(),
        }
    }
}

/// A symphonia [`Decoder`] for Opus streams (channel mapping families 0 and 1).
pub struct OpusAdapter {
    params: CodecParameters,
    inner: Inner,
    channels: usize,
    interleaved: Vec<f32>,
    buf: AudioBuffer<f32>,
}

/// The `OpusHead` fields that pick and configure the decoder (RFC 7845 §5.1).
struct Head {
    channels: usize,
    family: u8,
    streams: usize,
    coupled: usize,
    mapping: Vec<u8>,
}

fn parse_head(extra: &[u8]) -> Option<Head> {
    if extra.len() < 19 || &extra[..8] != b"OpusHead" {
        return None;
    }
    let channels = usize::from(extra[9]);
    let family = extra[18];
    if family == 0 {
        return Some(Head {
            channels,
            family,
            streams: 1,
            coupled: usize::from(channels == 2),
            mapping: vec![0, 1],
        });
    }
    let streams = usize::from(*extra.get(19)?);
    let coupled = usize::from(*extra.get(20)?);
    let mapping = extra.get(21..21 + channels)?.to_vec();
    Some(Head {
        channels,
        family,
        streams,
        coupled,
        mapping,
    })
}

impl Decoder for OpusAdapter {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> Result<Self> {
        let head = params.extra_data.as_deref().and_then(parse_head);
        let Some(head) = head else {
            return unsupported_error("opus: missing or malformed OpusHead");
        };
        let Some(layout) = params.channels else {
            return unsupported_error("opus: unknown channel layout");
        };
        if layout.count() != head.channels || head.channels == 0 {
            return unsupported_error("opus: channel count disagrees with OpusHead");
        }
        let inner = match (head.family, head.channels) {
            (0, 1 | 2) => OpusDecoder::new(RATE, head.channels).map(|d| Inner::Plain(Box::new(d))),
            (1, _) => OpusMultistreamDecoder::new(
                RATE,
                head.channels,
                head.streams,
                head.coupled,
                &head.mapping,
            )
            .map(|d| Inner::Multistream(Box::new(d))),
            _ => return unsupported_error("opus: unsupported channel mapping family"),
        };
        let inner = match inner {
            Ok(inner) => inner,
            Err(_) => return unsupported_error("opus: decoder refused the stream's layout"),
        };
        let spec = SignalSpec::new(RATE, layout);
        Ok(Self {
            params: params.clone(),
            inner,
            channels: head.channels,
            interleaved: vec![0.0; MAX_FRAMES * head.channels],
            buf: AudioBuffer::new(MAX_FRAMES as u64, spec),
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        &[support_codec!(
            CODEC_TYPE_OPUS,
            "opus",
            "Opus (opus-decoder)"
        )]
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> Result<AudioBufferRef<'_>> {
        // opus-decoder 0.1.1 overflows a shift on some transient frames; debug builds panic
        // there (release builds wrap). Such a packet becomes silence of its length, and the
        // decoder starts afresh.
        let inner = &mut self.inner;
        let pcm = &mut self.interleaved;
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.decode(&packet.data, pcm)
        }));
        let frames = match decoded {
            Ok(Ok(frames)) => frames,
            Ok(Err(_)) => return decode_error("opus: invalid packet"),
            Err(_) => {
                self.inner.reset();
                let frames =
                    (packet.dur as usize + packet.trim_start as usize + packet.trim_end as usize)
                        .min(MAX_FRAMES);
                self.interleaved[..frames * self.channels].fill(0.0);
                frames
            }
        };
        self.buf.clear();
        self.buf.render_reserved(Some(frames));
        for ch in 0..self.channels {
            let plane = self.buf.chan_mut(ch);
            for (i, sample) in plane.iter_mut().enumerate() {
                *sample = self.interleaved[i * self.channels + ch];
            }
        }
        // Encoder pre-skip and end padding, as the demuxer marked them on this packet.
        self.buf
            .trim(packet.trim_start() as usize, packet.trim_end() as usize);
        Ok(self.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.buf.as_audio_buffer_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_head_is_parsed() {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        let parsed = parse_head(&head).unwrap();
        assert_eq!((parsed.channels, parsed.family, parsed.coupled), (2, 0, 1));
        assert!(parse_head(b"OpusTags and more bytes").is_none());
        // Family 1 needs its stream table.
        head[18] = 1;
        assert!(parse_head(&head).is_none());
    }
}
