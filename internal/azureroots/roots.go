// Package azureroots knows which certificate authorities genuinely sign the
// certificates of Azure's endpoints, so that a chain this machine trusts but
// that ends somewhere else can be recognised as TLS inspection. It holds the
// built-in root set, the loader for --azure-roots, the check that compares a
// verified chain with the set, the tls.interception summary check, and the
// one-sentence headline that ties route, egress and TLS findings together.
package azureroots

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/apimprobe/apimprobe/internal/inputfile"
)

// builtinPEM is the default set. It is a concatenation of Debian's public
// root certificates (ca-certificates 20230311, /etc/ssl/certs), one file per
// root, chosen because Azure's public endpoints chain to them:
//
//   - Microsoft RSA Root Certificate Authority 2017 and
//     Microsoft ECC Root Certificate Authority 2017: Microsoft's own roots, to
//     which Azure services have been moving their TLS certificates (the
//     "Azure TLS certificate changes" of 2020-2023); Microsoft's issuing CAs
//     (Microsoft Azure RSA/ECC TLS Issuing CA) chain here.
//   - DigiCert Global Root G2: the root of most current Azure endpoint
//     certificates (Storage, SQL, Key Vault, Entra ID, azure-api.net), and the
//     cross-signer of Microsoft's 2017 roots while clients catch up.
//   - DigiCert Global Root G3: the ECC counterpart of G2, used by endpoints
//     that serve ECDSA certificates.
//   - DigiCert Global Root CA: the older DigiCert root still behind some
//     Azure and Microsoft endpoints during the migration to G2.
//   - Baltimore CyberTrust Root: the historic Azure root. It expired in May
//     2025 and so no longer verifies; it stays for older stand-ins and for
//     reports that name a legacy chain, and costs nothing when unused.
//
//go:embed azure-roots.pem
var builtinPEM []byte

// Default returns a new pool holding the built-in Azure roots. The embedded
// file is part of the binary and parsed by tests, so a failure here is a
// build defect, not an input error.
func Default() *x509.CertPool {
	certs, err := parse(builtinPEM)
	if err != nil {
		panic("azureroots: built-in root set is broken: " + err.Error())
	}
	return poolOf(certs)
}

// DefaultCertificates returns the built-in roots, for reports and tests.
func DefaultCertificates() []*x509.Certificate {
	certs, err := parse(builtinPEM)
	if err != nil {
		panic("azureroots: built-in root set is broken: " + err.Error())
	}
	return certs
}

// Load reads --azure-roots FILE, which replaces the built-in set. Every error
// is one line naming the file, fit for the CLI's usage error (exit 2).
func Load(path string) (*x509.CertPool, error) {
	data, err := readLimited(path, MaxFileSize)
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("--azure-roots %s: larger than %d bytes: not a file of root certificates", path, MaxFileSize)
	}
	if err != nil {
		return nil, fmt.Errorf("--azure-roots %s: cannot read: %v", path, err)
	}
	certs, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("--azure-roots %s: %v", path, err)
	}
	return poolOf(certs), nil
}

// MaxFileSize bounds what Load reads: a PEM root is about 2 KB, and the
// built-in set of a dozen is 25 KB. Anything larger (or endless, such as
// /dev/zero) is refused at once rather than read until memory runs out.
const MaxFileSize = 1 << 20

var errTooLarge = errors.New("file too large")

// readLimited reads at most max bytes of path, and errTooLarge when there is
// more. Only a regular file is read: a FIFO is refused at once instead of
// waiting for a writer for ever.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := inputfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooLarge
	}
	return data, nil
}

// Validate checks --azure-roots FILE without keeping the result, so that the
// CLI can reject bad input before anything is probed.
func Validate(path string) error {
	_, err := Load(path)
	return err
}

// parse accepts PEM with any number of CERTIFICATE blocks; other blocks
// (comments outside blocks, keys) are ignored, but at least one certificate
// must be there, and every certificate block must parse.
func parse(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	sawPEM := false
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %v", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	switch {
	case !sawPEM:
		return nil, errors.New("not PEM: expected -----BEGIN CERTIFICATE----- blocks")
	case len(certs) == 0:
		return nil, errors.New("no certificates: the PEM holds no CERTIFICATE block")
	}
	return certs, nil
}

func poolOf(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// ChainEndsAtAzureRoot tells whether any of the chains this machine verified
// (tls.ConnectionState.VerifiedChains) leads to one of roots. It returns the
// root it reached when genuine, and otherwise the root this machine trusted
// for the first chain — the inspecting CA the report names.
//
// It builds the path again against roots rather than comparing only the last
// certificate, because Azure's chains are cross-signed (Microsoft's 2017
// roots by DigiCert Global Root G2): the machine may stop at either, and a
// chain that passes through a genuine root is not an interception.
func ChainEndsAtAzureRoot(chains [][]*x509.Certificate, roots *x509.CertPool) (bool, *x509.Certificate) {
	var machineRoot *x509.Certificate
	for _, chain := range chains {
		if len(chain) == 0 {
			continue
		}
		if machineRoot == nil {
			machineRoot = chain[len(chain)-1]
		}
		if roots == nil {
			continue
		}
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		found, err := chain[0].Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			// The machine already checked the purpose against the host;
			// here only the issuer path matters.
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err == nil && len(found) > 0 && len(found[0]) > 0 {
			return true, found[0][len(found[0])-1]
		}
	}
	return false, machineRoot
}
