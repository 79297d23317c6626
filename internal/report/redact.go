package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/apimprobe/apimprobe/internal/lazyre"
)

// Redaction replaces the user's names and addresses with stable
// placeholders, so that a report can go to a public forum: the same value
// gets the same placeholder everywhere in the report (context, checks,
// evidence, findings, their commands), and different values different ones.
type Redaction struct {
	// Names maps a name to its kind ("service", "storage-account",
	// "resource-group", …); the placeholder is <kind> or <kind-N>.
	Names map[string]string
	// Keep lists addresses that are nobody's secret (Azure DNS
	// 168.63.129.16, the metadata service) and stay as they are.
	Keep []string
	// IDAreas are check-id prefixes ("backend.") whose ids are made of the
	// user's names: they are rewritten like any string, where other ids
	// are the tool's own words and stay.
	IDAreas []string
}

var (
	ipv4RE = lazyre.New(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	ipv6RE = lazyre.New(`\b[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7}\b`)
	// A UUID (subscription ids, tenant ids).
	uuidRE = lazyre.New(`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`)
	// A resource id: the subscription, then pairs of a type and a name.
	// A name stops at white space, quotes and the punctuation prose puts
	// after it.
	armIDRE = lazyre.New(`(?i)/subscriptions/[0-9a-f-]{36}(?:/[A-Za-z0-9._-]+/[^/\s"'(),;<>\[\]]+)*`)
)

// armKinds names the placeholder of a resource id's name by its type; other
// types get "resource". A type whose "name" is not the user's (a location)
// is not listed in the id rewrite at all.
var armKinds = map[string]string{
	"resourcegroups": "resource-group", "service": "service", "virtualnetworks": "vnet", "subnets": "subnet",
	"networksecuritygroups": "nsg", "routetables": "route-table", "networkinterfaces": "nic",
	"virtualmachines": "vm", "publicipaddresses": "public-ip", "natgateways": "nat-gateway",
	"azurefirewalls": "firewall", "networkmanagers": "network-manager", "userassignedidentities": "identity",
	"storageaccounts": "storage-account", "vaults": "key-vault", "servers": "sql-server", "namespaces": "event-hub",
}

// notNames are id segments whose value is Azure's vocabulary, not a name.
var notNames = map[string]bool{"locations": true, "providers": true}

// nameKeys are evidence keys whose strings are resource names without
// their ids (the NICs a subnet holds), with the names' kind.
var nameKeys = map[string]string{"nics": "nic"}

// learnIDs adds the names inside every resource id of the report, and
// those under nameKeys, to names, each under its kind, unless the
// operator's flags named it.
func learnIDs(key string, v any, names map[string]string) {
	switch x := v.(type) {
	case string:
		if kind, ok := nameKeys[key]; ok {
			if _, known := names[x]; !known && x != "" {
				names[x] = kind
			}
			return
		}
		for _, id := range armIDRE.FindAllString(x, -1) {
			for _, seg := range idNames(id) {
				if _, ok := names[seg.name]; !ok {
					names[seg.name] = seg.kind
				}
			}
		}
	case []any:
		for _, e := range x {
			learnIDs(key, e, names)
		}
	case map[string]any:
		// In key order, so that a name under two types gets the same kind
		// on every run.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			learnIDs(k, x[k], names)
		}
	}
}

type idName struct {
	kind, name string
	at         int // index of the name's segment
}

// idNames lists the names of a resource id: the resource group's and each
// resource's after the provider namespace.
func idNames(id string) []idName {
	seg := strings.Split(strings.TrimRight(id, "."), "/")
	var out []idName
	// seg: "", subscriptions, <id>, then pairs.
	for i := 3; i+1 < len(seg); i += 2 {
		typ := strings.ToLower(seg[i])
		if typ == "providers" || notNames[typ] || uuidRE.MatchString(seg[i+1]) {
			continue // the namespace, a location or a GUID-named resource
		}
		kind, ok := armKinds[typ]
		if !ok {
			kind = "resource"
		}
		out = append(out, idName{kind: kind, name: seg[i+1], at: i + 1})
	}
	return out
}

// distinctive tells a name that can be replaced in prose as well as in
// ids: one a sentence would not use as a word ("lab-vnet", "snet01", not
// "default" or "apim").
func distinctive(name string) bool {
	return len(name) >= 3 && strings.ContainsAny(name, "-_.0123456789")
}

// Redact rewrites every string of r.
func (r *Report) Redact(red Redaction) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return err
	}
	// Names that only Resource Manager's ids carry (the virtual network,
	// the subnet, the NSG, the instance's own resource group) are learnt
	// from them first.
	names := maps.Clone(red.Names)
	if names == nil {
		names = map[string]string{}
	}
	learnt := map[string]string{}
	learnIDs("", tree, learnt)
	for n, kind := range learnt {
		if _, ok := names[n]; ok {
			delete(learnt, n) // the operator's flag gave it its kind
			continue
		}
		names[n] = kind
	}
	red.Names = names
	rw := newRewriter(red, learnt)
	tree = rw.walk("", tree)
	b, err = json.Marshal(tree)
	if err != nil {
		return err
	}
	var out Report
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*r = out
	return nil
}

type rewriter struct {
	areas []string
	names []nameRE
	keep  map[string]bool
	seen  map[string]string
	count map[string]int
}

// nameRE is how one name is found. Every name is replaced in resource ids,
// where it is a whole string (context.hostname), as a value in the
// command line, and as the first label of a host name (api.azure-api.net);
// prose finds it only where it cannot be a word of the sentence: a
// distinctive name ("vnet-hub01"), or one of minProse letters or more
// ("fabrikam") that is not one of commonWords when the run learnt it.
// Such a name is also found as a part of a hyphenated name ("contoso-link",
// a private endpoint or DNS link named after it), unless it is one of the
// words of Azure's own host names.
type nameRE struct {
	prose *regexp.Regexp // nil: not in prose
	label *regexp.Regexp
	kind  string
	name  string
}

// minProse is the shortest plain name replaced in prose: "vm" or "apim"
// would turn "this VM" into "this vm-1".
const minProse = 5

// commonWords are names the run may learn from Resource Manager (a subnet
// called default, a NIC called primary) that the tool's own sentences use
// as words; they are replaced in ids and as names only.
var commonWords = wordSet("default internal external gateway gateways management storage network networks subnet subnets " +
	"public private firewall internet service services route routes proxy outbound inbound instance resolver " +
	"virtual appliance primary secondary backend frontend global local regional monitor")

// azureWords are parts of Azure's own host names (azure-api.net,
// login.microsoftonline.com, …): a name that is one of them is never looked
// for inside a hyphenated word.
var azureWords = wordSet("azure microsoft microsoftonline windows login management core cloudapp regional database " +
	"vault servicebus usgovcloudapi chinacloudapi trafficmanager blob table queue file files identity monitor")

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func newRewriter(red Redaction, learnt map[string]string) *rewriter {
	rw := &rewriter{keep: map[string]bool{}, seen: map[string]string{}, count: map[string]int{}, areas: red.IDAreas}
	for _, k := range red.Keep {
		rw.keep[k] = true
	}
	var names []string
	for n := range red.Names {
		// A name that is not UTF-8 cannot be in the report (JSON made its
		// strings UTF-8) and is no regular expression.
		if strings.TrimSpace(n) != "" && utf8.ValidString(n) {
			names = append(names, n)
		}
	}
	// Longest first, so that "contoso-kv" goes before "contoso".
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		lower := strings.ToLower(n)
		_, wasLearnt := learnt[n]
		q := regexp.QuoteMeta(n)
		right := `(\.[A-Za-z0-9])`
		if red.Names[n] == "service" {
			// A regional gateway's host name is the service's name, the
			// region and a number: contoso-westeurope-01.regional.azure-api.net.
			right = `(\.[A-Za-z0-9]|-[A-Za-z0-9]+-[0-9]+\.regional\.)`
		}
		nr := nameRE{kind: red.Names[n], name: lower,
			label: regexp.MustCompile(`(?i)(^|[^A-Za-z0-9.-])(` + q + `)` + right)}
		switch {
		case !distinctive(n) && (utf8.RuneCountInString(n) < minProse || (wasLearnt && commonWords[lower])):
			// Not in prose.
		case !azureWords[lower]:
			// A whole word, or a part of a hyphenated one.
			nr.prose = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9])(` + q + `)($|[^A-Za-z0-9])`)
		default:
			// Whole tokens only: a service called "azure" must not eat the
			// "azure" of azure-api.net.
			nr.prose = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9-])(` + q + `)($|[^A-Za-z0-9-])`)
		}
		rw.names = append(rw.names, nr)
	}
	return rw
}

// placeholder is the stable stand-in of value.
func (rw *rewriter) placeholder(kind, value string) string {
	key := kind + "\x00" + strings.ToLower(value)
	if p, ok := rw.seen[key]; ok {
		return p
	}
	rw.count[kind]++
	p := fmt.Sprintf("%s-%d", kind, rw.count[kind])
	rw.seen[key] = p
	return p
}

func (rw *rewriter) str(s string) string {
	for _, n := range rw.names {
		if strings.EqualFold(s, n.name) {
			return rw.placeholder(n.kind, n.name)
		}
	}
	s = armIDRE.ReplaceAllStringFunc(s, rw.armID)
	for _, n := range rw.names {
		p := rw.placeholder(n.kind, n.name)
		for _, re := range []*regexp.Regexp{n.prose, n.label} {
			if re == nil {
				continue
			}
			// Twice: adjacent matches share a boundary character.
			for range 2 {
				s = re.ReplaceAllString(s, "${1}"+p+"${3}")
			}
		}
	}
	s = uuidRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.Trim(m, "0-") == "" {
			return m // the all-zero id of the lab and examples
		}
		return rw.placeholder("id", m)
	})
	s = ipv4RE.ReplaceAllStringFunc(s, func(m string) string { return rw.addr(m) })
	s = ipv6RE.ReplaceAllStringFunc(s, func(m string) string { return rw.addr(m) })
	return s
}

// armID replaces every name of a resource id; a name the operator gave
// keeps the kind the flag gave it, so that it has one placeholder.
func (rw *rewriter) armID(id string) string {
	trail := id[len(strings.TrimRight(id, ".")):]
	seg := strings.Split(strings.TrimRight(id, "."), "/")
	for _, n := range idNames(id) {
		kind := n.kind
		for _, known := range rw.names {
			if known.name == strings.ToLower(n.name) {
				kind = known.kind
				break
			}
		}
		seg[n.at] = rw.placeholder(kind, n.name)
	}
	return strings.Join(seg, "/") + trail
}

// addr replaces an address that is the user's; well-known and special
// addresses (unspecified, loopback, the kept ones) stay.
func (rw *rewriter) addr(m string) string {
	a, err := netip.ParseAddr(m)
	if err != nil || rw.keep[a.String()] || a.IsUnspecified() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return m
	}
	if a.Is4() {
		// Netmask-like and prefix-boundary values (255.255.255.0,
		// 0.0.0.0/1 style) tell nothing about the user.
		if b := a.As4(); b[0] == 0 || b[0] == 255 {
			return m
		}
	}
	return rw.placeholder("ip", a.String())
}

// vocabulary are the keys whose string values are the tool's own words
// (check ids, SPEC's vocabulary): a user's name that happens to be such a
// word ("storage") must not rewrite them.
var vocabulary = map[string]bool{
	"id": true, "checks": true, "status": true, "reason": true, "failed_phase": true, "kind": true,
	"severity": true, "category": true, "resource_type": true, "mode": true, "phase": true,
	"cloud": true, "verdict": true, "version": true, "commit": true,
}

// userID says whether a check id (under "id" or "checks") is made of the
// user's names.
func (rw *rewriter) userID(key, s string) bool {
	if key != "id" && key != "checks" {
		return false
	}
	for _, a := range rw.areas {
		if strings.HasPrefix(s, a) {
			return true
		}
	}
	return false
}

// command rewrites the command line's values that are names ("--service
// apim", "--service=apim"), which prose matching may leave (a short name).
func (rw *rewriter) command(s string) string {
	tokens := strings.Split(s, " ")
	for i, t := range tokens {
		flag, val, ok := strings.Cut(t, "=")
		if !ok || !strings.HasPrefix(flag, "--") {
			flag, val = "", t
		} else {
			flag += "="
		}
		for _, n := range rw.names {
			if strings.EqualFold(val, n.name) {
				tokens[i] = flag + rw.placeholder(n.kind, n.name)
				break
			}
		}
	}
	return rw.str(strings.Join(tokens, " "))
}

func (rw *rewriter) walk(key string, v any) any {
	switch x := v.(type) {
	case string:
		if key == "command" {
			return rw.command(x)
		}
		if vocabulary[key] && !strings.HasPrefix(strings.ToLower(x), "/subscriptions/") && !rw.userID(key, x) {
			// The tool's own words; an "id" that is a resource id is the
			// user's.
			return x
		}
		return rw.str(x)
	case []any:
		for i := range x {
			x[i] = rw.walk(key, x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if !schemaKeys()[k] {
				// A free-form key (an evidence key, a resolver's
				// address) may be the user's.
				k = rw.str(k)
			}
			out[k] = rw.walk(k, val)
		}
		return out
	}
	return v
}

// schemaKeys are the JSON names of the report's own fields ("id",
// "checks", "evidence"): the report's structure, never rewritten, even when
// a user's name is one of them (a service called "id").
var schemaKeys = sync.OnceValue(func() map[string]bool {
	keys := map[string]bool{}
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			visit(t.Elem())
			return
		case reflect.Struct:
		default:
			return
		}
		if seen[t] {
			return
		}
		seen[t] = true
		for f := range t.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			keys[name] = true
			visit(f.Type)
		}
	}
	visit(reflect.TypeFor[Report]())
	return keys
})
