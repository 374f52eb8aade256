package api

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// Media the tests send: small but real enough for content sniffing.

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpBytes is the header of a lossy WebP, which is what sniffing reads.
func webpBytes() []byte {
	b := []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00")
	return append(b, make([]byte, 24)...)
}

// mp4Bytes is an ISO media file type box, which is what sniffing reads.
func mp4Bytes() []byte {
	b := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
	return append(b, make([]byte, 64)...)
}

// mp3Bytes starts with an ID3 tag.
func mp3Bytes() []byte {
	return append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), make([]byte, 128)...)
}

func pdfBytes() []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

// oggOpus builds an OGG stream of Opus packets: the identification header
// (channels as given), the comment header, then packets of the given sizes
// (20 ms each), the last page carrying the final granule position.
func oggOpus(channels byte, sizes []int) []byte {
	const preSkip = 312
	head := []byte("OpusHead")
	head = append(head, 1, channels)
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
		h = binary.LittleEndian.AppendUint32(h, 0) // checksum: not checked
		h = append(h, byte(len(lacing)))
		out = append(append(append(out, h...), lacing...), body...)
	}
	page(0, 0, head)
	page(0, 1, tags)
	var packets [][]byte
	for i, n := range sizes {
		packets = append(packets, bytes.Repeat([]byte{byte(i)}, n))
	}
	for i := 0; i < len(packets); i += 50 {
		end := min(i+50, len(packets))
		page(preSkip+int64(end)*960, uint32(2+i/50), packets[i:end]...)
	}
	return out
}

// voiceSizes are packet sizes that rise and fall, 3 s of 20 ms packets.
func voiceSizes() []int {
	sizes := make([]int, 150)
	for i := range sizes {
		sizes[i] = 10 + (i%50)*2
	}
	return sizes
}
