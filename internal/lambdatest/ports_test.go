package lambdatest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestStartRetriesAPortTakenBeforeTheEmulatorBindsIt: a port found free can
// be taken by another process before the emulator binds it (the emulator
// then panics, exit status 2); Start tries again on fresh ports.
func TestStartRetriesAPortTakenBeforeTheEmulatorBindsIt(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	emulator, err := EmulatorPath(root)
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0") // the other process
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	pickAddr = func() (string, error) {
		picks++
		if picks == 2 { // the first attempt's runtime API port
			return taken.Addr().String(), nil
		}
		return freeLoopbackAddr()
	}
	t.Cleanup(func() { pickAddr = freeLoopbackAddr })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, err := Start(ctx, Config{Emulator: emulator, Bootstrap: "/bin/true"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer f.Close()
	if picks != 4 {
		t.Fatalf("Start picked %d ports, want 4 (two attempts)", picks)
	}
	if strings.Contains(f.Logs(), "failed to listen") {
		t.Fatalf("the emulator Start returned lost a port:\n%s", f.Logs())
	}
}
