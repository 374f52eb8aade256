package api

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/wa-gateway/wa-gateway/actors/engine/fakewa"
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

// oggOpus builds an OGG Opus stream with the given channel count and
// packet sizes (fakewa.OggOpus).
func oggOpus(channels byte, sizes []int) []byte { return fakewa.OggOpus(int(channels), sizes) }
