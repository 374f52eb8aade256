package fakewa

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// Host names the fake serves: WhatsApp Web (WebSocket and the version
// page) and the media host.
const (
	webHost   = "web.whatsapp.com"
	mediaHost = "mmg.whatsapp.net"
)

// trust is what clients must trust to talk to a fake server: the Noise
// certificate chain under a root key that replaces whatsmeow's
// (whatsmeow.WACertPubKey, a process-wide variable) and a TLS certificate
// authority. It is made once per process and shared by every Server.
type trust struct {
	rootPub   *[32]byte     // what whatsmeow must trust instead of WhatsApp's root
	static    *keys.KeyPair // the servers' Noise static key
	certChain []byte        // intermediate and leaf, signed down from the root

	tlsCert tls.Certificate
	caPool  *x509.CertPool
}

var (
	trustOnce sync.Once
	trusted   *trust
	trustErr  error
)

// processTrust returns the process's trust, installing its root key in
// whatsmeow on first use. From then on the process cannot talk to the real
// WhatsApp.
func processTrust() (*trust, error) {
	trustOnce.Do(func() {
		trusted, trustErr = newTrust()
		if trustErr == nil {
			whatsmeow.WACertPubKey = *trusted.rootPub
		}
	})
	return trusted, trustErr
}

func newTrust() (*trust, error) {
	root, inter := keys.NewKeyPair(), keys.NewKeyPair()
	t := &trust{static: keys.NewKeyPair(), rootPub: root.Pub}
	now := uint64(time.Now().Unix())
	const year = 365 * 24 * 3600
	interDetails, err := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial: proto.Uint32(1), IssuerSerial: proto.Uint32(0), Key: inter.Pub[:],
		NotBefore: proto.Uint64(now - 3600), NotAfter: proto.Uint64(now + year),
	})
	if err != nil {
		return nil, err
	}
	leafDetails, err := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{
		Serial: proto.Uint32(2), IssuerSerial: proto.Uint32(1), Key: t.static.Pub[:],
		NotBefore: proto.Uint64(now - 3600), NotAfter: proto.Uint64(now + year),
	})
	if err != nil {
		return nil, err
	}
	interSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*root.Priv), interDetails)
	leafSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*inter.Priv), leafDetails)
	t.certChain, err = proto.Marshal(&waCert.CertChain{
		Intermediate: &waCert.CertChain_NoiseCertificate{Details: interDetails, Signature: interSig[:]},
		Leaf:         &waCert.CertChain_NoiseCertificate{Details: leafDetails, Signature: leafSig[:]},
	})
	if err != nil {
		return nil, err
	}
	if err := t.makeTLS(); err != nil {
		return nil, fmt.Errorf("test TLS certificates: %w", err)
	}
	return t, nil
}

// makeTLS creates a throwaway certificate authority and a certificate for
// the hosts the fake serves.
func (t *trust) makeTLS() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fakewa test CA"},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: webHost},
		DNSNames:  []string{webHost, mediaHost, "*.whatsapp.net", "*.whatsapp.com"},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	t.tlsCert = tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	t.caPool = x509.NewCertPool()
	t.caPool.AddCert(ca)
	return nil
}

// httpClient routes every connection, whatever the host, to addr, and
// trusts only the test certificate authority.
func (t *trust) httpClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 0, // WebSockets live long; requests carry their own contexts
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: t.caPool, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConnsPerHost: 4,
		},
	}
}
