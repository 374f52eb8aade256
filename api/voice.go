package api

import (
	"bytes"
	"encoding/binary"
)

// Voice notes. WhatsApp's phones, the iPhone's above all, play a voice
// note only when it is Opus in an OGG container, mono, with a waveform in
// the message (the bars the player shows). The gateway does not
// transcode (that needs libopus or ffmpeg), so it accepts exactly that
// format and refuses anything else with the conversion to run; it reads
// the OGG stream for the duration and draws the waveform from the sizes of
// the Opus packets, which track loudness closely enough for the bars.

// waveformSamples is the number of bars WhatsApp's player draws.
const waveformSamples = 64

// flatWaveform is the level of every bar when the stream is too short to
// draw one.
const flatWaveform = 50

// opusRate is the rate of Opus granule positions, whatever the input rate.
const opusRate = 48000

type voiceInfo struct {
	seconds  int
	waveform []byte
	channels int
}

// isOggOpus reports whether data starts an OGG stream whose first packet
// is an Opus identification header for a mono stream.
func isOggOpus(data []byte) bool {
	packets, _, ok := oggPackets(data, 1)
	if !ok || len(packets) == 0 {
		return false
	}
	head := packets[0]
	return len(head) >= 19 && bytes.HasPrefix(head, []byte("OpusHead")) && head[9] == 1
}

// inspectVoice reads the duration and draws the waveform of an OGG Opus
// stream (isOggOpus must hold).
func inspectVoice(data []byte) (voiceInfo, error) {
	packets, granule, ok := oggPackets(data, -1)
	if !ok || len(packets) < 1 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) || len(packets[0]) < 19 {
		return voiceInfo{}, errVoiceFormat
	}
	head := packets[0]
	info := voiceInfo{channels: int(head[9])}
	preSkip := int64(binary.LittleEndian.Uint16(head[10:12]))
	if samples := granule - preSkip; samples > 0 {
		info.seconds = int((samples + opusRate - 1) / opusRate)
	}
	audio := packets[min(2, len(packets)):] // after OpusHead and OpusTags
	info.waveform = waveform(audio)
	return info, nil
}

// waveform spreads the packets over 64 bars, each the mean packet size of
// its share, scaled so that the loudest bar is 100.
func waveform(packets [][]byte) []byte {
	out := make([]byte, waveformSamples)
	if len(packets) < waveformSamples {
		for i := range out {
			out[i] = flatWaveform
		}
		return out
	}
	means := make([]float64, waveformSamples)
	peak := 0.0
	for i := range means {
		lo, hi := i*len(packets)/waveformSamples, (i+1)*len(packets)/waveformSamples
		sum := 0
		for _, p := range packets[lo:hi] {
			sum += len(p)
		}
		means[i] = float64(sum) / float64(max(hi-lo, 1))
		peak = max(peak, means[i])
	}
	for i, m := range means {
		if peak > 0 {
			out[i] = byte(m / peak * 100)
		}
	}
	return out
}

// oggPackets reassembles the packets of an OGG stream (at most limit of
// them; -1 for all) and returns them with the last granule position seen.
// ok is false when data is not a well-formed OGG stream.
func oggPackets(data []byte, limit int) (packets [][]byte, granule int64, ok bool) {
	var cur []byte
	for len(data) > 0 {
		if len(data) < 27 || !bytes.HasPrefix(data, []byte("OggS")) || data[4] != 0 {
			return packets, granule, false
		}
		if g := int64(binary.LittleEndian.Uint64(data[6:14])); g >= 0 {
			granule = g
		}
		nseg := int(data[26])
		if len(data) < 27+nseg {
			return packets, granule, false
		}
		lacing := data[27 : 27+nseg]
		body := data[27+nseg:]
		for _, l := range lacing {
			if int(l) > len(body) {
				return packets, granule, false
			}
			cur = append(cur, body[:l]...)
			body = body[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
				if limit >= 0 && len(packets) >= limit {
					return packets, granule, true
				}
			}
		}
		data = body
	}
	return packets, granule, true
}
