package main

import (
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// sdkTokens is what scripts/build-engine extracts from the pulumi_openstack wheel.
type sdkTokens struct {
	Resources []string `json:"resources"`
	Functions []string `json:"functions"`
}

type mappingReport struct {
	Resources   [][2]string `json:"resources"`
	Functions   [][2]string `json:"functions"`
	UnmappedTF  []string    `json:"unmapped_terraform"`
	UnmappedSDK []string    `json:"unmapped_sdk"`
}

// Terraform's name segment -> the SDK's module. Names of services are the Terraform provider's own; the
// two abbreviations are the ones the SDK spells out.
var moduleOfSegment = map[string]string{
	"blockstorage":     "blockstorage",
	"bgpvpn":           "bgpvpn",
	"compute":          "compute",
	"containerinfra":   "containerinfra",
	"db":               "database",
	"database":         "database",
	"dns":              "dns",
	"identity":         "identity",
	"images":           "images",
	"keymanager":       "keymanager",
	"networking":       "networking",
	"lb":               "loadbalancer",
	"loadbalancer":     "loadbalancer",
	"fw":               "firewall",
	"objectstorage":    "objectstorage",
	"orchestration":    "orchestration",
	"sharedfilesystem": "sharedfilesystem",
	"vpnaas":           "vpnaas",
}

type sdkToken struct {
	full   string
	module string
	lname  string // lower-case member name
}

func parseToken(tok string) sdkToken {
	parts := strings.SplitN(tok, ":", 3)
	if len(parts) != 3 {
		return sdkToken{full: tok}
	}
	mod, _, _ := strings.Cut(parts[1], "/")
	return sdkToken{full: tok, module: mod, lname: strings.ToLower(parts[2])}
}

func moduleOf(tok string) string { return parseToken(tok).module }

func tokenType(tok string) tokens.Type { return tokens.Type(tok) }

func tokenMember(tok string) tokens.ModuleMember { return tokens.ModuleMember(tok) }

type matchResult struct {
	byTF   map[string][]string // first token is the primary one, the rest are legacy names
	unused []string
}

func squash(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// tfKeys returns the SDK module a Terraform name belongs in and the member names it may have there, best first.
func tfKeys(tfName string, isFunction bool) (module string, keys []string, indexKeys []string) {
	rest := strings.TrimPrefix(tfName, "openstack_")
	segment, tail, _ := strings.Cut(rest, "_")
	withVersion := tail
	noVersion := tail
	if i := strings.LastIndex(tail, "_v"); i >= 0 && isDigits(tail[i+2:]) {
		noVersion = tail[:i]
	}
	prefix := ""
	if isFunction {
		prefix = "get"
	}
	module, ok := moduleOfSegment[segment]
	if ok {
		for _, k := range []string{noVersion, withVersion, segment + "_" + noVersion, segment + "_" + withVersion} {
			keys = append(keys, prefix+squash(k))
		}
	}
	// Resources added after the SDK's module list was fixed land in "index" under their full name.
	indexKeys = []string{prefix + squash(rest), squash(rest)}
	return module, keys, indexKeys
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// matchTokens pairs Terraform names with SDK tokens in passes from exact to loose, so that an exact match
// always wins over a loose one:
//  1. same module, member name equal to the Terraform name (with or without its _vN suffix);
//  2. the "index" module under the full Terraform name: the primary token when pass 1 found none, otherwise a
//     legacy alias that the SDK still ships;
//  3. same module, member name starting or ending with the key (the SDK's "ContainerObject", "...Deprecated");
//  4. same module, edit distance of at most 2 (spelling slips in the SDK, such as "QuoteSetV3");
//  5. the last unnamed Terraform name and the last unused token of a module.
func matchTokens(tfNames []string, toks []string, isFunction bool) matchResult {
	parsed := make([]sdkToken, 0, len(toks))
	for _, t := range toks {
		parsed = append(parsed, parseToken(t))
	}
	used := map[string]bool{}
	res := matchResult{byTF: map[string][]string{}}

	find := func(module string, pred func(lname string) bool) []sdkToken {
		var out []sdkToken
		for _, p := range parsed {
			if !used[p.full] && p.module == module && pred(p.lname) {
				out = append(out, p)
			}
		}
		return out
	}
	claim := func(tf string, t sdkToken) {
		used[t.full] = true
		res.byTF[tf] = append(res.byTF[tf], t.full)
	}

	// Pass 1.
	for _, tf := range tfNames {
		module, keys, _ := tfKeys(tf, isFunction)
		for _, k := range keys {
			if c := find(module, func(l string) bool { return l == k }); len(c) == 1 {
				claim(tf, c[0])
				break
			}
		}
	}
	// Pass 2.
	for _, tf := range tfNames {
		_, _, indexKeys := tfKeys(tf, isFunction)
		for _, k := range indexKeys {
			for _, c := range find("index", func(l string) bool { return l == k }) {
				claim(tf, c)
			}
		}
	}
	// Passes 3 and 4 only for names still without a token.
	loose := []func(key, lname string) bool{
		func(k, l string) bool { return strings.HasPrefix(l, k) || strings.HasSuffix(l, k) },
		func(k, l string) bool { return levenshtein(k, l) <= 2 },
	}
	for _, pred := range loose {
		for _, tf := range tfNames {
			if len(res.byTF[tf]) > 0 {
				continue
			}
			module, keys, _ := tfKeys(tf, isFunction)
			for _, k := range keys {
				if c := find(module, func(l string) bool { return pred(k, l) }); len(c) == 1 {
					claim(tf, c[0])
					break
				}
			}
		}
	}
	// Pass 5: a module left with exactly one unnamed Terraform name and one unused SDK token pairs them
	// (the SDK's "getLbFlavorDeprecated" for the deprecated openstack_loadbalancer_flavor_v2).
	leftTF := map[string][]string{}
	for _, tf := range tfNames {
		if len(res.byTF[tf]) == 0 {
			module, _, _ := tfKeys(tf, isFunction)
			leftTF[module] = append(leftTF[module], tf)
		}
	}
	for module, tfs := range leftTF {
		if module == "" || len(tfs) != 1 {
			continue
		}
		if c := find(module, func(string) bool { return true }); len(c) == 1 {
			claim(tfs[0], c[0])
		}
	}
	for _, p := range parsed {
		if !used[p.full] {
			res.unused = append(res.unused, p.full)
		}
	}
	sort.Strings(res.unused)
	return res
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
