package dsse

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// The example of the DSSE protocol (protocol.md, "Test Vectors"): its PAE,
// and its ECDSA P-256 signature, which must verify over the bytes PAE makes.
func TestPAEProtocolExample(t *testing.T) {
	pae := PAE("http://example.com/HelloWorld", []byte("hello world"))
	if want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"; string(pae) != want {
		t.Fatalf("PAE = %q, want %q", pae, want)
	}
	x, _ := new(big.Int).SetString("46950820868899156662930047687818585632848591499744589407958293238635476079160", 10)
	y, _ := new(big.Int).SetString("5640078356564379163099075877009565129882514886557779369047442380624545832820", 10)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	sig, _ := base64.StdEncoding.DecodeString("A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==")
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	digest := sha256.Sum256(pae)
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("the protocol example's signature does not verify over our PAE")
	}
	digest = sha256.Sum256(PAE("http://example.com/HelloWorld", []byte("hello world!")))
	if ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("the example's signature verifies over another body")
	}
}

// The published DSSE test vectors (secure-systems-lab/dsse,
// testvectors/vectors.json at commit 82043adf78bb4e67c208f9ffa72b38804ea6a0c4).
// Keys A and B are the RFC 8032 section 7.1 TEST 1 and TEST 2 Ed25519 keys.
var vectorKeys = map[string]struct{ seed, public string }{
	"A": {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},
	"B": {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"},
}

const (
	stmtB64 = "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ=="
	sigA    = "2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA=="
	sigB    = "c1+67/aT0yqEpwx8PsVY3MLHsj9D0CZ014/Fv/QlG59P+9CobUZ7xECJ/V3USG0Ob9CiE5LjReEZUzNF2l7eBw=="
	paeStmt = "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d"
	other   = "application/vnd.example.other+json"
	exaType = "application/vnd.exämple+json"
)

var vectors = []struct {
	id         string
	env        Envelope
	trusted    []string
	threshold  int
	supported  []string
	signedType string // the type and body the pae field is of
	pae        string
	accept     bool
}{
	{"single-signature", Envelope{PayloadTypeInToto, stmtB64, []Signature{{"A", sigA}}},
		[]string{"A"}, 1, []string{PayloadTypeInToto}, PayloadTypeInToto, paeStmt, true},
	{"url-safe-base64", Envelope{PayloadTypeInToto, "-_-_Pj8=", []Signature{{"A", "P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw=="}}},
		[]string{"A"}, 1, []string{PayloadTypeInToto}, PayloadTypeInToto,
		"445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203520fbffbf3e3f", true},
	{"payload-type-swapped", Envelope{other, stmtB64, []Signature{{"A", sigA}}},
		[]string{"A"}, 1, []string{PayloadTypeInToto, other}, PayloadTypeInToto, paeStmt, false},
	{"non-ascii-payload-type", Envelope{exaType, stmtB64, []Signature{{"A", "xmSk/ug66ysT7ayhkCIjhAq42zgZXSsEWuzUaNL7w2eGAdF/NU6/fRXPtmfN+5DNSAs5/i2lUnHjbbjPsu0tAw=="}}},
		[]string{"A"}, 1, []string{exaType}, exaType,
		"445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d", true},
	{"empty-payload", Envelope{PayloadTypeInToto, "", []Signature{{"A", "gSggCAaTLTYyRH6FIDBem6meyIynsYy8RTHVzwx9tnTb7Bg/1jMWnuVgI/gffqmbsC2VX5/jHfkkDqsj7CDbDg=="}}},
		[]string{"A"}, 1, []string{PayloadTypeInToto}, PayloadTypeInToto,
		"445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020", true},
	{"empty-payload-type", Envelope{"", stmtB64, []Signature{{"A", "iC3q/+3Rm0+lpAJRueDmDh15PnwCfxKmS0NAfKsbv+zgulXQC/WM9trc+j1XEqlwDIg/vf/uNfebeD6sxInrDg=="}}},
		[]string{"A"}, 1, []string{PayloadTypeInToto}, "",
		"445353457631203020203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d", false},
	{"threshold-two-distinct-keys", Envelope{PayloadTypeInToto, stmtB64, []Signature{{"A", sigA}, {"B", sigB}}},
		[]string{"A", "B"}, 2, []string{PayloadTypeInToto}, PayloadTypeInToto, paeStmt, true},
	{"threshold-two-one-key-twice", Envelope{PayloadTypeInToto, stmtB64, []Signature{{"A", sigA}, {"A", sigA}}},
		[]string{"A", "B"}, 2, []string{PayloadTypeInToto}, PayloadTypeInToto, paeStmt, false},
	{"threshold-two-without-keyids", Envelope{PayloadTypeInToto, stmtB64, []Signature{{"", sigA}, {"", sigB}}},
		[]string{"A", "B"}, 2, []string{PayloadTypeInToto}, PayloadTypeInToto, paeStmt, true},
}

func vectorKey(t *testing.T, name string) (Key, ed25519.PrivateKey) {
	t.Helper()
	seed, _ := hex.DecodeString(vectorKeys[name].seed)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if hex.EncodeToString(pub) != vectorKeys[name].public {
		t.Fatalf("key %s: public key %x, want %s", name, pub, vectorKeys[name].public)
	}
	return Key{ID: name, Public: pub}, priv
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.id, func(t *testing.T) {
			body, err := decode(v.env.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(PAE(v.signedType, body)); got != v.pae {
				t.Errorf("PAE = %s, want %s", got, v.pae)
			}
			var keys []Key
			for _, n := range v.trusted {
				k, _ := vectorKey(t, n)
				keys = append(keys, k)
			}
			got, signers, err := v.env.Verify(keys, v.threshold, v.supported...)
			switch {
			case v.accept && err != nil:
				t.Fatalf("rejected: %v", err)
			case v.accept && (string(got) != string(body) || len(signers) < v.threshold):
				t.Fatalf("accepted with payload %q, signers %v", got, signers)
			case !v.accept && !errors.Is(err, ErrRejected):
				t.Fatalf("accepted (payload %q, signers %v), want rejected", got, signers)
			}
		})
	}
}

// Ed25519 signatures are deterministic: signing the vectors' payloads with
// the RFC 8032 keys gives their signatures byte for byte.
func TestSignKnownAnswer(t *testing.T) {
	_, privA := vectorKey(t, "A")
	_, privB := vectorKey(t, "B")
	body, _ := decode(stmtB64)
	for _, c := range []struct {
		priv ed25519.PrivateKey
		typ  string
		body []byte
		sig  string
	}{
		{privA, PayloadTypeInToto, body, sigA},
		{privB, PayloadTypeInToto, body, sigB},
		{privA, exaType, body, vectors[3].env.Signatures[0].Sig},
		{privA, PayloadTypeInToto, nil, vectors[4].env.Signatures[0].Sig},
	} {
		e := Sign(c.typ, c.body, c.priv, "A")
		if e.Signatures[0].Sig != c.sig || e.PayloadType != c.typ || e.Payload != base64.StdEncoding.EncodeToString(c.body) {
			t.Errorf("Sign(%q, %q) = %+v, want sig %s", c.typ, c.body, e, c.sig)
		}
	}
}

// Changes an attacker can make without the key are rejected.
func TestVerifyRejects(t *testing.T) {
	kA, privA := vectorKey(t, "A")
	kB, _ := vectorKey(t, "B")
	good := Sign(PayloadTypeInToto, []byte(`{"_type":"https://in-toto.io/Statement/v1"}`), privA, "A")
	if _, _, err := good.Verify([]Key{kA}, 1, PayloadTypeInToto); err != nil {
		t.Fatal(err)
	}
	body, _ := decode(good.Payload)
	for _, c := range []struct {
		name string
		edit func(e *Envelope)
		keys []Key
		say  string
	}{
		{"payload byte changed", func(e *Envelope) {
			b := append([]byte(nil), body...)
			b[3] ^= 1
			e.Payload = base64.StdEncoding.EncodeToString(b)
		}, []Key{kA}, "no signature is valid for key A"},
		{"payload type changed", func(e *Envelope) { e.PayloadType = other }, []Key{kA}, "no signature is valid"},
		{"another key", nil, []Key{{ID: "A", Public: kB.Public}}, "no signature is valid for key A"},
		{"keyid names another key", func(e *Envelope) { e.Signatures[0].KeyID = "C" }, []Key{kA}, `signed by key "C", not by A`},
		{"no signatures", func(e *Envelope) { e.Signatures = nil }, []Key{kA}, "no signatures"},
		{"payload not base64", func(e *Envelope) { e.Payload = "%%%" }, []Key{kA}, "payload is not base64"},
		{"signature not base64", func(e *Envelope) { e.Signatures[0].Sig = e.Signatures[0].Sig[1:] }, []Key{kA}, "signature 1 is not base64"},
		{"signature truncated", func(e *Envelope) {
			s, _ := decode(e.Signatures[0].Sig)
			e.Signatures[0].Sig = base64.StdEncoding.EncodeToString(s[:63])
		}, []Key{kA}, "no signature is valid"},
	} {
		e := *good
		e.Signatures = append([]Signature(nil), good.Signatures...)
		if c.edit != nil {
			c.edit(&e)
		}
		_, _, err := e.Verify(c.keys, 1, PayloadTypeInToto)
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: %v, want rejected saying %q", c.name, err, c.say)
		}
	}
	if _, err := Parse([]byte(`{"payload": 1}`)); !errors.Is(err, ErrRejected) {
		t.Errorf("payload a number: %v", err)
	}
}
