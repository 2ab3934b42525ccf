// Package signing makes and checks detached Ed25519 signatures over the exact
// bytes of a file (a model, a report, anything): no canonicalisation, so any
// changed byte breaks the signature.
//
// A signature is Ed25519ph (RFC 8032, section 5.1: Ed25519 over the SHA-512
// digest of the file, with the prehash flag and an empty context), so that a
// file is read once, as a stream, whatever its size; the SHA-256 and the size
// the signature file records are computed in the same pass. Signatures of the
// first format (plain Ed25519 over the bytes themselves, which needs the
// whole file in memory to verify) are still accepted.
//
// Keys and signatures are small JSON documents:
//
//	PREFIX.pub  {"type": "advcheck/ed25519-public-key/v1", "key_id": …, "public_key": base64}
//	PREFIX.key  {"type": "advcheck/ed25519-private-key/v1", "key_id": …, "seed": base64} (mode 0600)
//	FILE.sig    {"type": "advcheck/signature/v2", "algorithm": "ed25519ph", "key_id": …,
//	             "file_sha256": hex, "file_bytes": n, "signature": base64}
//
// A first-format FILE.sig reads "type": "advcheck/signature/v1", "algorithm":
// "ed25519". The type and the algorithm go together: a signature relabelled
// as the other format is checked as that format and does not hold.
//
// The key id is the first 16 hex digits of the SHA-256 of the public key.
package signing

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/internal/safeio"
)

// Errors. ErrInvalid means the signature does not hold: the signature file
// is missing or malformed, was made with another key, or does not match the
// bytes (or the digest it claims does not). ErrKey means a key file cannot
// be read or is not an advcheck key. ErrMalformed means the signed file
// itself cannot be read.
var (
	ErrInvalid   = errors.New("signature does not verify")
	ErrKey       = errors.New("bad key")
	ErrMalformed = errors.New("unreadable file")
)

// MaxSignedBytes bounds the files Sign and Verify read.
const MaxSignedBytes = 4 << 30

const (
	pubType = "advcheck/ed25519-public-key/v1"
	keyType = "advcheck/ed25519-private-key/v1"
	// The first format: plain Ed25519 over the bytes.
	sigTypeV1 = "advcheck/signature/v1"
	algV1     = "ed25519"
	// Ed25519ph over the SHA-512 of the bytes.
	sigTypeV2 = "advcheck/signature/v2"
	algV2     = "ed25519ph"
)

// prehash makes and checks Ed25519ph signatures, message = SHA-512 digest.
var prehash = &ed25519.Options{Hash: crypto.SHA512}

// PublicKey is a verification key with its id.
type PublicKey struct {
	Type      string `json:"type"`
	KeyID     string `json:"key_id"`
	PublicKey []byte `json:"public_key"`
}

type privateKey struct {
	Type  string `json:"type"`
	KeyID string `json:"key_id"`
	Seed  []byte `json:"seed"`
}

// Signature is a detached signature.
type Signature struct {
	Type       string `json:"type"`
	Algorithm  string `json:"algorithm"`
	KeyID      string `json:"key_id"`
	FileSHA256 string `json:"file_sha256"`
	FileBytes  int64  `json:"file_bytes"`
	Signature  []byte `json:"signature"`
}

// KeyID derives the id of a public key.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Generate writes a new key pair to prefix.key (0600) and prefix.pub and
// returns the key id. Existing files are not overwritten.
func Generate(prefix string, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return "", err
	}
	id := KeyID(pub)
	for _, p := range []string{prefix + ".key", prefix + ".pub"} {
		if _, err := os.Stat(p); err == nil {
			return "", fmt.Errorf("%s exists; refusing to overwrite a key", p)
		}
	}
	kb, _ := json.MarshalIndent(privateKey{Type: keyType, KeyID: id, Seed: priv.Seed()}, "", "  ")
	pb, _ := json.MarshalIndent(PublicKey{Type: pubType, KeyID: id, PublicKey: pub}, "", "  ")
	if err := atomicfile.Write(prefix+".key", append(kb, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := atomicfile.Write(prefix+".pub", append(pb, '\n'), 0o644); err != nil {
		return "", err
	}
	return id, nil
}

func readSmallJSON(path string, kind error, v any) error {
	f, err := safeio.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", kind, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", kind, path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %v", kind, path, err)
	}
	return nil
}

// ReadPublicKey reads a .pub file.
func ReadPublicKey(path string) (*PublicKey, error) {
	var k PublicKey
	if err := readSmallJSON(path, ErrKey, &k); err != nil {
		return nil, err
	}
	if k.Type != pubType || len(k.PublicKey) != ed25519.PublicKeySize || k.KeyID != KeyID(k.PublicKey) {
		return nil, fmt.Errorf("%w: %s is not an advcheck public key", ErrKey, path)
	}
	return &k, nil
}

// ReadPrivateKey reads a .key file and returns the key and its id.
func ReadPrivateKey(path string) (ed25519.PrivateKey, string, error) {
	var k privateKey
	if err := readSmallJSON(path, ErrKey, &k); err != nil {
		return nil, "", err
	}
	if k.Type != keyType || len(k.Seed) != ed25519.SeedSize {
		return nil, "", fmt.Errorf("%w: %s is not an advcheck private key", ErrKey, path)
	}
	priv := ed25519.NewKeyFromSeed(k.Seed)
	id := KeyID(priv.Public().(ed25519.PublicKey))
	if id != k.KeyID {
		return nil, "", fmt.Errorf("%w: %s: key id %s does not match the key (%s)", ErrKey, path, k.KeyID, id)
	}
	return priv, id, nil
}

// SigPath is where the signature of path lives.
func SigPath(path string) string { return path + ".sig" }

// digests are what one pass over a file yields: its SHA-256, its SHA-512
// (the Ed25519ph message) and its size.
type digests struct {
	sha256 [sha256.Size]byte
	sha512 [sha512.Size]byte
	n      int64
}

// digester hashes what is written to it with both hashes, and counts it.
type digester struct {
	h256, h512 hash.Hash
	n          int64
}

func newDigester() *digester { return &digester{h256: sha256.New(), h512: sha512.New()} }

// Write hashes p a digestPiece at a time, so that each piece stays in
// cache between the two hashes.
func (d *digester) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), digestPiece)
		d.h256.Write(p[:k])
		d.h512.Write(p[:k])
		p = p[k:]
	}
	d.n += int64(n)
	return n, nil
}

func (d *digester) sum() digests {
	var s digests
	d.h256.Sum(s.sha256[:0])
	d.h512.Sum(s.sha512[:0])
	s.n = d.n
	return s
}

// openSigned opens a file to sign or verify, refusing one that is not a
// regular file or is larger than MaxSignedBytes.
func openSigned(path string) (*os.File, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.Size() > MaxSignedBytes {
		err = fmt.Errorf("%s is larger than %d bytes", path, MaxSignedBytes)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// digestPiece is how much is hashed, and read, at a time.
const digestPiece = 256 << 10

// digestFile reads f to its end once, refusing more than MaxSignedBytes (a
// file that grows while it is read).
func digestFile(f *os.File, path string) (digests, error) {
	d := newDigester()
	if _, err := io.CopyBuffer(d, io.LimitReader(f, MaxSignedBytes+1), make([]byte, digestPiece)); err != nil {
		return digests{}, err
	}
	if d.n > MaxSignedBytes {
		return digests{}, fmt.Errorf("%s is larger than %d bytes", path, MaxSignedBytes)
	}
	return d.sum(), nil
}

// Sign signs the exact bytes of path, read once as a stream, with the
// private key in keyPath and writes path.sig (the current format, Ed25519ph).
// It returns the signature.
func Sign(path, keyPath string) (*Signature, error) {
	priv, id, err := ReadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	f, err := openSigned(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := digestFile(f, path)
	if err != nil {
		return nil, err
	}
	sig, err := priv.Sign(nil, d.sha512[:], prehash)
	if err != nil {
		return nil, err
	}
	s := &Signature{Type: sigTypeV2, Algorithm: algV2, KeyID: id, FileSHA256: hex.EncodeToString(d.sha256[:]),
		FileBytes: d.n, Signature: sig}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := atomicfile.Write(SigPath(path), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// Verified is what a successful verification established: the key that
// signed the file, and the SHA-256 and size of the bytes checked (computed
// from them, never taken from the signature file).
type Verified struct {
	KeyID  string
	SHA256 string
	Bytes  int64
}

// Verify checks path against path.sig and the public key in pubPath. It
// returns an error wrapping ErrInvalid when the signature does not hold (a
// changed byte, another key, no or a malformed signature file), ErrKey when
// the public key cannot be read and ErrMalformed when path cannot.
//
// The file is read once, as a stream, for a signature of the current format;
// a first-format signature covers the bytes themselves, and the file is then
// read whole into memory.
func Verify(path, pubPath string) (*Verified, error) {
	f, err := openSigned(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	defer f.Close()
	pub, s, err := readSignature(path, pubPath)
	if err != nil {
		return nil, err
	}
	if s.Type == sigTypeV1 {
		data, err := safeio.ReadAll(f, MaxSignedBytes)
		if errors.Is(err, safeio.ErrTooLarge) {
			err = fmt.Errorf("%s is larger than %d bytes", path, MaxSignedBytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return checkBytes(path, s, pub, data)
	}
	d, err := digestFile(f, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return check(path, s, pub, d, nil)
}

// VerifyBytes is Verify for the bytes of path already in memory (so that
// what is checked is exactly what is then used). It accepts both formats.
func VerifyBytes(path string, data []byte, pubPath string) (*Verified, error) {
	pub, s, err := readSignature(path, pubPath)
	if err != nil {
		return nil, err
	}
	return checkBytes(path, s, pub, data)
}

// checkBytes is check for the bytes of path in memory, in either format.
func checkBytes(path string, s *Signature, pub *PublicKey, data []byte) (*Verified, error) {
	if s.Type == sigTypeV1 {
		return check(path, s, pub, digests{sha256: sha256.Sum256(data), n: int64(len(data))}, data)
	}
	d := newDigester()
	d.Write(data)
	return check(path, s, pub, d.sum(), nil)
}

// readSignature reads the public key in pubPath and path.sig, and checks that
// the signature file is one of the two formats.
func readSignature(path, pubPath string) (*PublicKey, *Signature, error) {
	pub, err := ReadPublicKey(pubPath)
	if err != nil {
		return nil, nil, err
	}
	var s Signature
	if err := readSmallJSON(SigPath(path), ErrInvalid, &s); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w: %s is not signed (no %s)", ErrInvalid, path, SigPath(path))
		}
		return nil, nil, err
	}
	known := s.Type == sigTypeV1 && s.Algorithm == algV1 || s.Type == sigTypeV2 && s.Algorithm == algV2
	if !known || len(s.Signature) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w: %s is not an advcheck signature", ErrInvalid, SigPath(path))
	}
	if s.KeyID != pub.KeyID {
		return nil, nil, fmt.Errorf("%w: %s was signed by key %s, not by %s", ErrInvalid, path, s.KeyID, pub.KeyID)
	}
	return pub, &s, nil
}

// check verifies signature s of path with pub, given the digests of the
// bytes of path and, for a first-format signature, the bytes themselves.
func check(path string, s *Signature, pub *PublicKey, d digests, data []byte) (*Verified, error) {
	v := &Verified{KeyID: pub.KeyID, SHA256: hex.EncodeToString(d.sha256[:]), Bytes: d.n}
	var ok bool
	if s.Type == sigTypeV1 {
		ok = ed25519.Verify(pub.PublicKey, data, s.Signature)
	} else {
		ok = ed25519.VerifyWithOptions(pub.PublicKey, d.sha512[:], s.Signature, prehash) == nil
	}
	if !ok {
		if v.SHA256 != s.FileSHA256 {
			return nil, fmt.Errorf("%w: %s has changed since it was signed (SHA-256 %s, signed %s)", ErrInvalid, path, v.SHA256, s.FileSHA256)
		}
		return nil, fmt.Errorf("%w: the signature of %s is not valid for key %s", ErrInvalid, path, pub.KeyID)
	}
	// The Ed25519 signature covers the bytes (or their SHA-512), not the
	// digest and size the signature file states beside it; a file that
	// states others is forged or damaged, and its claims must not be shown
	// as facts.
	if s.FileSHA256 != v.SHA256 || s.FileBytes != v.Bytes {
		return nil, fmt.Errorf("%w: %s claims SHA-256 %s and %d bytes, but %s has SHA-256 %s and %d bytes",
			ErrInvalid, SigPath(path), s.FileSHA256, s.FileBytes, path, v.SHA256, v.Bytes)
	}
	return v, nil
}
