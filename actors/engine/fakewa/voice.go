package fakewa

import (
	"bytes"
	"encoding/binary"
)

// OggOpus builds an OGG stream of Opus packets, the format of WhatsApp's
// voice notes: the identification header (with the given channel count,
// 16 kHz), the comment header, then packets of the given sizes, 20 ms of
// audio each, 50 to a page, the last page carrying the final granule
// position. The packets are filler bytes, not decodable audio: enough for
// whatever reads the container (duration, waveform from packet sizes).
// Page checksums are left zero.
func OggOpus(channels int, packetSizes []int) []byte {
	const preSkip = 312
	head := []byte("OpusHead")
	head = append(head, 1, byte(channels))
	head = binary.LittleEndian.AppendUint16(head, preSkip)
	head = binary.LittleEndian.AppendUint32(head, 16000)
	head = append(head, 0, 0, 0)
	tags := append([]byte("OpusTags"), 0, 0, 0, 0, 0, 0, 0, 0)

	var out []byte
	page := func(granule int64, seq uint32, packets ...[]byte) {
		var lacing, body []byte
		for _, p := range packets {
			n := len(p)
			for n >= 255 {
				lacing = append(lacing, 255)
				n -= 255
			}
			lacing = append(lacing, byte(n))
			body = append(body, p...)
		}
		h := []byte("OggS\x00\x00")
		h = binary.LittleEndian.AppendUint64(h, uint64(granule))
		h = binary.LittleEndian.AppendUint32(h, 1)
		h = binary.LittleEndian.AppendUint32(h, seq)
		h = binary.LittleEndian.AppendUint32(h, 0)
		h = append(h, byte(len(lacing)))
		out = append(append(append(out, h...), lacing...), body...)
	}
	page(0, 0, head)
	page(0, 1, tags)
	var packets [][]byte
	for i, n := range packetSizes {
		packets = append(packets, bytes.Repeat([]byte{byte(i)}, n))
	}
	for i := 0; i < len(packets); i += 50 {
		end := min(i+50, len(packets))
		page(preSkip+int64(end)*960, uint32(2+i/50), packets[i:end]...)
	}
	return out
}

// VoiceNote is a mono OGG Opus voice note of the given length whose
// packets grow and shrink, as speech does.
func VoiceNote(seconds int) []byte {
	sizes := make([]int, seconds*50)
	for i := range sizes {
		sizes[i] = 10 + (i%50)*2
	}
	return OggOpus(1, sizes)
}
