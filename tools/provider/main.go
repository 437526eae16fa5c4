// Command pulumi-resource-openstack is the Pulumi OpenStack resource provider, built by shuyaku from the
// Terraform OpenStack provider and Pulumi's Terraform bridge, both served by the Go module proxy.
//
// Why our own main: Pulumi's published provider module (pulumi-openstack/provider/v5) is not served by the
// module proxy reachable here. Its job is small, though: name every Terraform resource and data source with the
// Pulumi token that the Python SDK uses. We take those tokens from the pinned pulumi_openstack wheel itself
// (scripts/build-engine extracts them into sdk-tokens.json next to this file before building), so the binary
// answers exactly the calls that SDK makes.
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

// Version is stamped by scripts/build-engine with -ldflags -X main.Version=5.x.y (no leading v).
var Version = "0.0.0-dev"

//go:embed sdk-tokens.json
var sdkTokensJSON []byte

// Provider maps the Terraform OpenStack provider onto the Pulumi tokens of the pinned Python SDK.
func Provider() (tfbridge.ProviderInfo, *mappingReport) {
	var sdk sdkTokens
	if err := json.Unmarshal(sdkTokensJSON, &sdk); err != nil {
		panic(fmt.Sprintf("embedded sdk-tokens.json is not valid: %v", err))
	}
	tf := openstack.Provider()
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(tf),
		Name:        "openstack",
		Description: "A Pulumi package for creating and managing OpenStack cloud resources.",
		License:     "Apache-2.0",
		Version:     Version,
		// The same environment fallbacks as the published provider, so a clouds.yaml + OS_CLOUD set-up works.
		Config: map[string]*tfbridge.SchemaInfo{
			"region":        {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_REGION_NAME"}}},
			"insecure":      {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_INSECURE"}}},
			"endpoint_type": {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_ENDPOINT_TYPE"}}},
			"swauth":        {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_SWAUTH"}}},
			"cloud":         {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_CLOUD"}}},
			"delayed_auth":  {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_DELAYED_AUTH"}}},
			"allow_reauth":  {Default: &tfbridge.DefaultInfo{EnvVars: []string{"OS_ALLOW_REAUTH"}}},
		},
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}

	resourceNames := make([]string, 0, len(tf.ResourcesMap))
	for name := range tf.ResourcesMap {
		resourceNames = append(resourceNames, name)
	}
	dataSourceNames := make([]string, 0, len(tf.DataSourcesMap))
	for name := range tf.DataSourcesMap {
		dataSourceNames = append(dataSourceNames, name)
	}
	sort.Strings(resourceNames)
	sort.Strings(dataSourceNames)

	report := &mappingReport{}
	resources := matchTokens(resourceNames, sdk.Resources, false)
	for _, name := range resourceNames {
		toks := resources.byTF[name]
		if len(toks) == 0 {
			report.UnmappedTF = append(report.UnmappedTF, name)
			continue
		}
		primary := tfbridge.ResourceInfo{Tok: tokenType(toks[0]), Fields: fieldRenames[name]}
		prov.Resources[name] = &primary
		report.Resources = append(report.Resources, [2]string{name, toks[0]})
		for _, legacy := range toks[1:] {
			// The SDK still ships the older name as a deprecated class; serve it from the same Terraform resource.
			prov.RenameResourceWithAlias(name, tokenType(legacy), tokenType(toks[0]),
				moduleOf(legacy), moduleOf(toks[0]), &primary)
			report.Resources = append(report.Resources, [2]string{name, legacy})
		}
	}
	functions := matchTokens(dataSourceNames, sdk.Functions, true)
	for _, name := range dataSourceNames {
		toks := functions.byTF[name]
		if len(toks) == 0 {
			report.UnmappedTF = append(report.UnmappedTF, name)
			continue
		}
		primary := tfbridge.DataSourceInfo{Tok: tokenMember(toks[0])}
		prov.DataSources[name] = &primary
		report.Functions = append(report.Functions, [2]string{name, toks[0]})
		for _, legacy := range toks[1:] {
			prov.RenameDataSource(name, tokenMember(legacy), tokenMember(toks[0]),
				moduleOf(legacy), moduleOf(toks[0]), &primary)
			report.Functions = append(report.Functions, [2]string{name, legacy})
		}
	}
	report.UnmappedSDK = append(resources.unused, functions.unused...)

	// Resources without an explicit name get "<logical name>-<random>" names, as with the published provider.
	prov.SetAutonaming(255, "-")
	return prov, report
}

// fieldRenames are the SDK's property names that differ from the bridge's default (camelCase, plural for lists).
// Found by comparing every resource's top-level object fields with the SDK's Args classes.
var fieldRenames = map[string]map[string]*tfbridge.SchemaInfo{
	// "outputs" would clash with the SDK's generated outputs module.
	"openstack_orchestration_stack_v1": {"outputs": {Name: "StackOutputs"}},
}

// schemaBytes is the package schema served by GetSchema. The engine does not need the full schema to deploy;
// it only needs name and version to agree with the SDK's pulumi-plugin.json.
func schemaBytes() []byte {
	b, err := json.Marshal(map[string]any{
		"name":        "openstack",
		"displayName": "OpenStack",
		"version":     Version,
		"description": "A Pulumi package for creating and managing OpenStack cloud resources.",
	})
	if err != nil {
		panic(err)
	}
	return b
}

func main() {
	prov, report := Provider()
	// A diagnostic for scripts/build-engine and the tests: which SDK tokens this binary serves.
	if len(os.Args) == 2 && os.Args[1] == "--token-report" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	tfbridge.Main("openstack", Version, prov, schemaBytes())
}
