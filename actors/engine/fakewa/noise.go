package fakewa

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/coder/websocket"
	"golang.org/x/crypto/curve25519"
	"google.golang.org/protobuf/proto"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"go.mau.fi/whatsmeow/util/keys"
)

// This file is the server side of WhatsApp's transport: frames of a 3-byte
// length inside WebSocket messages, a Noise_XX_25519_AESGCM_SHA256
// handshake (mirroring whatsmeow's handshake.go), then AES-GCM frames
// carrying binary XML nodes.

// handshakeState is the server's side of the Noise handshake.
type handshakeState struct {
	hash, salt []byte
	key        cipher.AEAD
	counter    uint32
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func nonce(n uint32) []byte {
	iv := make([]byte, 12)
	binary.BigEndian.PutUint32(iv[8:], n)
	return iv
}

func (h *handshakeState) start(header []byte) error {
	h.hash = []byte(socket.NoiseStartPattern) // exactly 32 bytes: used as is
	h.salt = h.hash
	var err error
	h.key, err = newGCM(h.hash)
	h.authenticate(header)
	return err
}

func (h *handshakeState) authenticate(data []byte) {
	sum := sha256.New()
	sum.Write(h.hash)
	sum.Write(data)
	h.hash = sum.Sum(nil)
}

func (h *handshakeState) encrypt(plaintext []byte) []byte {
	ct := h.key.Seal(nil, nonce(h.counter), plaintext, h.hash)
	h.counter++
	h.authenticate(ct)
	return ct
}

func (h *handshakeState) decrypt(ciphertext []byte) ([]byte, error) {
	pt, err := h.key.Open(nil, nonce(h.counter), ciphertext, h.hash)
	h.counter++
	if err == nil {
		h.authenticate(ciphertext)
	}
	return pt, err
}

// mix mixes a Diffie-Hellman result into the chaining key.
func (h *handshakeState) mix(priv, pub []byte) error {
	secret, err := curve25519.X25519(priv, pub)
	if err != nil {
		return err
	}
	h.counter = 0
	write, read := split(h.salt, secret)
	h.salt = write
	h.key, err = newGCM(read)
	return err
}

// split expands a chaining key into two 32-byte keys.
func split(salt, data []byte) (first, second []byte) {
	out := hkdfutil.SHA256(data, salt, nil, 64)
	return out[:32], out[32:]
}

// transport is one WebSocket carrying WhatsApp frames.
type transport struct {
	ws        *websocket.Conn
	ctx       context.Context
	buf       []byte
	gotHeader bool

	readKey  cipher.AEAD
	readN    uint32
	writeMu  sync.Mutex
	writeKey cipher.AEAD
	writeN   uint32
}

// readFrame returns the next frame, reading WebSocket messages as needed.
func (t *transport) readFrame() ([]byte, error) {
	for {
		if len(t.buf) >= 3 {
			n := int(t.buf[0])<<16 | int(t.buf[1])<<8 | int(t.buf[2])
			if len(t.buf) >= 3+n {
				f := t.buf[3 : 3+n]
				t.buf = t.buf[3+n:]
				return f, nil
			}
		}
		_, data, err := t.ws.Read(t.ctx)
		if err != nil {
			return nil, err
		}
		if !t.gotHeader {
			if len(data) < len(socket.WAConnHeader) || !bytes.Equal(data[:len(socket.WAConnHeader)], socket.WAConnHeader) {
				return nil, fmt.Errorf("%w: bad connection header", ErrProtocol)
			}
			data = data[len(socket.WAConnHeader):]
			t.gotHeader = true
		}
		t.buf = append(t.buf, data...)
	}
}

func (t *transport) writeFrame(data []byte) error {
	f := make([]byte, 3+len(data))
	f[0], f[1], f[2] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	copy(f[3:], data)
	return t.ws.Write(t.ctx, websocket.MessageBinary, f)
}

// handshake runs the server side of the Noise handshake with the static
// key and certificate chain of tr, and returns the client's payload.
func (t *transport) handshake(tr *trust) (*waWa6.ClientPayload, error) {
	f, err := t.readFrame()
	if err != nil {
		return nil, err
	}
	var hello waWa6.HandshakeMessage
	if err := proto.Unmarshal(f, &hello); err != nil {
		return nil, fmt.Errorf("%w: client hello: %v", ErrProtocol, err)
	}
	clientEphemeral := hello.GetClientHello().GetEphemeral()
	var h handshakeState
	if err := h.start(socket.WAConnHeader); err != nil {
		return nil, err
	}
	h.authenticate(clientEphemeral)
	ephemeral := keys.NewKeyPair()
	h.authenticate(ephemeral.Pub[:])
	if err := h.mix(ephemeral.Priv[:], clientEphemeral); err != nil {
		return nil, err
	}
	staticCT := h.encrypt(tr.static.Pub[:])
	if err := h.mix(tr.static.Priv[:], clientEphemeral); err != nil {
		return nil, err
	}
	certCT := h.encrypt(tr.certChain)
	resp, err := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: ephemeral.Pub[:], Static: staticCT, Payload: certCT,
	}})
	if err != nil {
		return nil, err
	}
	if err := t.writeFrame(resp); err != nil {
		return nil, err
	}
	if f, err = t.readFrame(); err != nil {
		return nil, err
	}
	var finish waWa6.HandshakeMessage
	if err := proto.Unmarshal(f, &finish); err != nil {
		return nil, fmt.Errorf("%w: client finish: %v", ErrProtocol, err)
	}
	clientStatic, err := h.decrypt(finish.GetClientFinish().GetStatic())
	if err != nil {
		return nil, fmt.Errorf("%w: client static key: %v", ErrProtocol, err)
	}
	if err := h.mix(ephemeral.Priv[:], clientStatic); err != nil {
		return nil, err
	}
	payloadBytes, err := h.decrypt(finish.GetClientFinish().GetPayload())
	if err != nil {
		return nil, fmt.Errorf("%w: client payload: %v", ErrProtocol, err)
	}
	var payload waWa6.ClientPayload
	if err := proto.Unmarshal(payloadBytes, &payload); err != nil {
		return nil, fmt.Errorf("%w: client payload: %v", ErrProtocol, err)
	}
	// The client writes with the first key and reads with the second.
	write, read := split(h.salt, nil)
	if t.readKey, err = newGCM(write); err != nil {
		return nil, err
	}
	if t.writeKey, err = newGCM(read); err != nil {
		return nil, err
	}
	return &payload, nil
}

// send encrypts and writes one node. Safe for concurrent use.
func (t *transport) send(n waBinary.Node) error {
	data, err := waBinary.Marshal(n)
	if err != nil {
		return err
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	ct := t.writeKey.Seal(nil, nonce(t.writeN), data, nil)
	t.writeN++
	return t.writeFrame(ct)
}

// recv reads and decrypts one node. Not safe for concurrent use.
func (t *transport) recv() (*waBinary.Node, error) {
	f, err := t.readFrame()
	if err != nil {
		return nil, err
	}
	pt, err := t.readKey.Open(nil, nonce(t.readN), f, nil)
	t.readN++
	if err != nil {
		return nil, fmt.Errorf("%w: frame decryption: %v", ErrProtocol, err)
	}
	unpacked, err := waBinary.Unpack(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return waBinary.Unmarshal(unpacked)
}
