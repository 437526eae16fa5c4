//go:build tools

// Package tools pins the Pulumi CLI's main package so that `go build` of it resolves through this module.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
