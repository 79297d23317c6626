// Package discover discovers what the guest itself cannot see: the VM's
// Azure context from the Instance Metadata Service (imds), and — through
// Azure Resource Manager with the VM's managed identity or another
// azidentity credential — the NIC's effective routes and NSGs, the subnet's
// configuration, the API Management instance and its own view, and the
// service tags. What it reads fills a snapshot.Snapshot, each read with its
// permission, its az command and why it was not made when it was not;
// package judge turns that snapshot into the route.* and subnet.* checks.
package discover

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/apimprobe/apimprobe/internal/azure/arm"
	"github.com/apimprobe/apimprobe/internal/azure/imds"
	"github.com/apimprobe/apimprobe/internal/azure/servicetags"
	"github.com/apimprobe/apimprobe/probes"
)

// ARMMode is --arm / --no-arm / auto.
type ARMMode string

const (
	// ARMAuto uses Resource Manager when a token can be had; outside Azure
	// (no IMDS) with a managed identity it does not even try.
	ARMAuto ARMMode = "auto"
	ARMOn   ARMMode = "on"
	ARMOff  ARMMode = "off"
)

// Defaults.
const (
	DefaultIMDSEndpoint = "http://169.254.169.254"
	// DefaultIMDSTimeout is IMDS's own bound: outside Azure nothing answers
	// 169.254.169.254 and the run must go on at once.
	DefaultIMDSTimeout = time.Second
	// DefaultConnectTimeout is --timeout's default.
	DefaultConnectTimeout = 5 * time.Second
)

// Options configure discovery. Zero values take the defaults.
type Options struct {
	IMDSEndpoint string
	IMDSTimeout  time.Duration
	ARM          ARMMode
	// ARMEndpoint overrides the cloud's Resource Manager endpoint (https).
	ARMEndpoint string
	// Cloud picks the Resource Manager endpoint and token audience; ""
	// takes the cloud the Instance Metadata Service names (azEnvironment),
	// else public.
	Cloud probes.Cloud
	// Credential: managed-identity (default), azure-cli, default.
	Credential string
	// ManagedIdentityClientID selects a user-assigned identity.
	ManagedIdentityClientID string
	ServiceTagsFile         string
	// CacheDir keeps Resource Manager's service tag list between runs
	// (servicetags.Cache); "" caches nothing.
	CacheDir string
	// Service is the APIM instance name (--service); Mode its network mode.
	Service string
	Mode    probes.Mode
	// InterfaceAddrs lists this machine's interface addresses for the
	// subnet fallback without the metadata service (nil: the machine's own,
	// net.InterfaceAddrs).
	InterfaceAddrs func() ([]net.Addr, error)
	// ModeAuto: no --mode was given; the mode is the instance's, from its
	// resource (ModeOf), and Mode is only what is assumed until it is read.
	ModeAuto bool
	// Phase is pre, post or auto; "pre" means the instance does not exist yet.
	Phase probes.DeployPhase
	// Overrides from flags; they win over discovery.
	Region, Subnet, PrivateIP string
	// APIMSubnet is the instance's subnet (--apim-subnet), a resource id:
	// in the v2 modes it is judged instead of this VM's, before deployment
	// and whenever the instance's resource does not name it.
	APIMSubnet string
	// ARMBudget, when positive, bounds the Resource Manager reads on top
	// of the context's deadline; 0 gives them the whole run (the context
	// passed to Discover, less a margin to report in).
	ARMBudget time.Duration
	// RunDeadline is the run's --deadline, named in messages about reads
	// it cut (0: the reads' own bound is named instead).
	RunDeadline time.Duration
	// ConnectTimeout bounds a connection to Resource Manager, TCP and TLS
	// (the check limit, --timeout): one not made by then was dropped on
	// the way, and the reads say so instead of waiting for the deadline.
	ConnectTimeout time.Duration

	// TokenCredential, when set, is used instead of building one (tests,
	// embedding). ARMTransport carries ARM requests (tests: the TLS test
	// server's client). Neither has a flag.
	TokenCredential azcore.TokenCredential
	ARMTransport    policy.Transporter

	tags *servicetags.Set // loaded by Validate
	// validated: Validate passed these options (Discover does not ask again).
	validated bool
}

func (o *Options) defaults() {
	if o.IMDSEndpoint == "" {
		o.IMDSEndpoint = DefaultIMDSEndpoint
	}
	if o.IMDSTimeout <= 0 {
		o.IMDSTimeout = DefaultIMDSTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ARM == "" {
		o.ARM = ARMAuto
	}
	if o.Credential == "" {
		o.Credential = probes.CredManagedIdentity
	}
	if o.Mode == "" {
		o.Mode = probes.ModeInternal
	}
}

// Validate checks the options that come from the command line and loads the
// --service-tags file, so that bad input is a one-line error before anything
// is probed (the CLI exits 2 on it). It fills defaults.
func Validate(o *Options) error {
	o.defaults()
	u, err := url.Parse(o.IMDSEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--imds-endpoint %q: want a URL such as http://169.254.169.254", o.IMDSEndpoint)
	}
	if o.ARMEndpoint != "" {
		u, err := url.Parse(o.ARMEndpoint)
		if err != nil || u.Host == "" || u.Scheme == "" {
			return fmt.Errorf("--arm-endpoint %q: want an https URL such as https://management.azure.com", o.ARMEndpoint)
		}
		if u.Scheme != "https" {
			return fmt.Errorf("--arm-endpoint %q: must be https (a bearer token is sent to it)", o.ARMEndpoint)
		}
	}
	switch o.ARM {
	case ARMAuto, ARMOn, ARMOff:
	default:
		return fmt.Errorf("ARM mode %q: want auto, on or off", o.ARM)
	}
	if _, err := arm.CloudConfig(o.Cloud, ""); err != nil {
		return err
	}
	if o.APIMSubnet != "" {
		rid, err := azarm.ParseResourceID(o.APIMSubnet)
		if err != nil || rid.Parent == nil || !strings.EqualFold(rid.ResourceType.String(), "Microsoft.Network/virtualNetworks/subnets") {
			return fmt.Errorf("--apim-subnet %q: want a subnet's resource id, /subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/VNET/subnets/SUBNET", o.APIMSubnet)
		}
	}
	switch o.Credential {
	case probes.CredManagedIdentity, probes.CredAzureCLI, probes.CredDefault:
	default:
		return fmt.Errorf("--arm-credential %q: want managed-identity, azure-cli or default", o.Credential)
	}
	if id := o.ManagedIdentityClientID; id != "" {
		// A client id is a GUID in its plain 36-character form; IMDS would
		// answer anything else with a 400 that names no flag.
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return fmt.Errorf("--identity-client-id %q: want a client id, a GUID such as 00000000-0000-0000-0000-000000000000", probes.Untrusted(id, 64))
		}
		switch o.Credential {
		case probes.CredAzureCLI:
			return fmt.Errorf("--identity-client-id names a managed identity; it has no effect with --arm-credential azure-cli (drop one of them)")
		case probes.CredDefault:
			// azidentity's chain takes its managed identity from the
			// environment only.
			return fmt.Errorf("--identity-client-id applies to --arm-credential managed-identity; with default, set AZURE_CLIENT_ID instead")
		}
	}
	if o.ServiceTagsFile != "" && o.tags == nil {
		s, err := servicetags.Load(o.ServiceTagsFile)
		if err != nil {
			return err
		}
		o.tags = s
	}
	o.validated = true
	return nil
}

// cloudFor is the cloud to use: the option, else the one IMDS names.
func (o *Options) cloudFor(in *imds.Instance) probes.Cloud {
	if o.Cloud != "" {
		return o.Cloud
	}
	if in != nil {
		if c, ok := CloudOfEnvironment(in.AzEnvironment); ok {
			return c
		}
	}
	return probes.CloudPublic
}

// CloudOfEnvironment maps IMDS's compute.azEnvironment to a cloud.
func CloudOfEnvironment(env string) (probes.Cloud, bool) {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "azurepubliccloud":
		return probes.CloudPublic, true
	case "azureusgovernmentcloud", "azureusgovernment":
		return probes.CloudUSGov, true
	case "azurechinacloud":
		return probes.CloudChina, true
	}
	return "", false
}

// deadlineWords names what bounds the reads, for a read it cut.
func (o *Options) deadlineWords() string {
	if o.RunDeadline > 0 {
		return fmt.Sprintf("the run's --deadline of %s", o.RunDeadline)
	}
	if o.ARMBudget > 0 {
		return fmt.Sprintf("the Resource Manager budget of %s", o.ARMBudget)
	}
	return "the run's deadline"
}
