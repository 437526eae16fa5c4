// Command pulumi-language-python is shuyaku's own Python language host for the Pulumi engine.
//
// Why our own: the Go module proxy reachable here does not serve Pulumi's language host module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), but it does serve sdk/v3, which holds
// every building block a language host needs (the Python toolchain helpers, the gRPC plumbing, the policy
// proxy). This host implements the part of the LanguageRuntime protocol that shuyaku uses: running a Python
// program, reporting the plugins its packages need, and running Python CrossGuard policy packs. Code
// generation (`pulumi convert`, `pulumi package gen-sdk`) is left unimplemented on purpose.
//
// Like Pulumi's host, it runs programs through the `pulumi-language-python-exec` shim that ships in the sdk/v3
// module; scripts/build-engine copies it next to this binary.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/contract"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

const (
	execShimName = "pulumi-language-python-exec"
	// The exec shim exits with this code after it has already shown the user an actionable message.
	exitAfterUserMessage = 32
	// How long a program may run on after the engine cancelled it or dropped its Run request.
	requestGrace = 3 * time.Second
	// How long the host waits for its programs when the engine stops it (the engine kills us after 5 s).
	shutdownGrace = 4 * time.Second
)

func main() {
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	// The engine passes these flags to every language host; accept them so that flag parsing never fails.
	_ = flag.String("tracing", "", "tracing endpoint (accepted for compatibility, unused)")
	useExecutor := flag.String("use-executor", "", "run programs with this executor instead of the shim beside us")
	flag.Parse()

	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	logging.InitLogging(false, 0, false)

	shim := *useExecutor
	if shim == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine current executable: %w", err))
		}
		shim = filepath.Join(filepath.Dir(self), execShimName)
		if _, err := os.Stat(shim); err != nil {
			cmdutil.Exit(fmt.Errorf("missing %s beside the language host (run scripts/build-engine): %w",
				execShimName, err))
		}
	}

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancelChannel := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelChannel)
		// A graceful stop waits for Run, which waits for the program; never let that outlast the engine.
		time.AfterFunc(shutdownGrace, func() { programs.waitOrKill(0) })
	}()
	if engineAddress != "" {
		// Exit by ourselves when the engine goes away, so no orphaned host is left behind.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check: %w", err))
		}
	}

	host := newHost(shim, engineAddress)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelChannel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from our first line of output.
	fmt.Printf("%d\n", handle.Port)
	err = <-handle.Done
	programs.waitOrKill(shutdownGrace)
	if err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// runningPrograms are the Python programs started by Run that have not exited yet.
type runningPrograms struct {
	mu   sync.Mutex
	cmds map[*exec.Cmd]struct{}
}

var programs = &runningPrograms{cmds: map[*exec.Cmd]struct{}{}}

func (r *runningPrograms) add(cmd *exec.Cmd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds[cmd] = struct{}{}
}

func (r *runningPrograms) remove(cmd *exec.Cmd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cmds, cmd)
}

func (r *runningPrograms) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cmds)
}

// waitOrKill gives running programs up to grace to exit, then kills their process groups.
func (r *runningPrograms) waitOrKill(grace time.Duration) {
	deadline := time.Now().Add(grace)
	for r.count() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for cmd := range r.cmds {
		if cmd.Process != nil {
			contract.IgnoreError(syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
		}
	}
}
