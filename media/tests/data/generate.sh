#!/usr/bin/env bash
# Regenerates the small edge-case files media/tests/formats.rs probes: audio the
# player cannot decode (each must be refused with its own reason) and unusual but
# playable variants (each must be accepted with the right length).
# Needs ffmpeg (with libopus and libspeex), sox and lame. The files are committed,
# so tests and CI never run this.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

FF=(ffmpeg -nostdin -hide_banner -loglevel error -y -bitexact)
SINE=(-f lavfi -i "sine=frequency=440:duration=1:sample_rate=8000")
VIDEO=(-f lavfi -i "testsrc=size=32x32:rate=5:duration=1")

# Refused: audio the player cannot decode.
# AAC Main profile: lofty reads it, symphonia 0.5 cannot decode it.
"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=1:sample_rate=22050" -c:a aac -profile:a aac_main -b:a 32k aac-main.m4a
"${FF[@]}" "${SINE[@]}" -c:a flac -f ogg flac-in-ogg.oga
"${FF[@]}" "${SINE[@]}" -c:a libspeex speex.spx
"${FF[@]}" "${SINE[@]}" -c:a wavpack wavpack.wv
"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=1:sample_rate=48000" -c:a libopus -b:a 16k opus.webm
"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=1:sample_rate=22050" -c:a wmav2 -b:a 32k wma.wma
"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=1:sample_rate=22050" -c:a libmp3lame -b:a 32k -f mp4 mp3-in-mp4.mp4

# Refused: video.
"${FF[@]}" "${VIDEO[@]}" "${SINE[@]}" -c:v mpeg4 -c:a aac -b:a 16k -shortest video.mp4
"${FF[@]}" "${VIDEO[@]}" -c:v mpeg4 video-only.mp4

# Accepted: unusual but playable (WAVs and AIFF 0.5 s, the rest 1 s).
sox -n -r 8000 -c 1 -b 16 aiff.aiff synth 0.5 sine 440
"${FF[@]}" "${SINE[@]}" -c:a alac alac.m4a
"${FF[@]}" "${SINE[@]}" -c:a pcm_alaw alaw.wav
sox -n -r 8000 -c 1 -e floating-point -b 32 float.wav synth 0.5 sine 440
sox -n -r 8000 -c 2 -b 24 pcm24-extensible.wav synth 0.5 sine 440
sox -n -r 22050 -c 1 -b 16 "$work/src.wav" synth 1 sine 440
# VBR without a Xing header (-t): the length must come from counting frames.
lame --quiet --nohist -V 5 -t "$work/src.wav" vbr-no-xing.mp3
# MPEG-2 Layer III (22.05 kHz) with a Xing header.
lame --quiet --nohist -V 5 "$work/src.wav" mpeg2.mp3
# MPEG-1 Layer II at 32 kHz (symphonia's mp2 feature decodes it).
"${FF[@]}" -f lavfi -i "sine=frequency=440:duration=1:sample_rate=32000" -c:a mp2 -b:a 32k layer2.mp2
# Raw AAC in ADTS frames, as .aac downloads come.
"${FF[@]}" "${SINE[@]}" -c:a aac -b:a 16k -f adts raw.aac
# AAC with the index in front (most M4A files have it at the end).
"${FF[@]}" -i "$work/src.wav" -c:a aac -b:a 32k -movflags +faststart faststart.m4a
