package runlocaltest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The peer is another machine on the network, as far as the stack can tell:
// this test binary, re-run in a network namespace of its own, joined to the
// test's namespace by a veth pair. Addresses are from TEST-NET-1
// (192.0.2.0/24, RFC 5737), which is never routed anywhere.
const (
	peerEnv   = "RUNLOCALTEST_PEER"
	hostIface = "dcsrl0"
	peerIface = "dcsrl1"
	hostAddr  = "192.0.2.1"
	peerAddr  = "192.0.2.2"
)

func TestMain(m *testing.M) {
	if os.Getenv(peerEnv) == "1" {
		servePeer(os.Stdin, os.Stdout)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// servePeer answers one line per command read:
//
//	up IFACE CIDR   configure and bring up the peer's end of the veth
//	dial HOST:PORT  "open" if a TCP connection is accepted, else "closed: why"
func servePeer(in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "up":
			reply := "ok"
			for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", f[2], "dev", f[1]}, {"link", "set", f[1], "up"}} {
				if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
					reply = fmt.Sprintf("error: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
					break
				}
			}
			fmt.Fprintln(out, reply)
		case len(f) == 2 && f[0] == "dial":
			conn, err := net.DialTimeout("tcp", f[1], 2*time.Second)
			if err != nil {
				fmt.Fprintf(out, "closed: %v\n", err)
				continue
			}
			conn.Close()
			fmt.Fprintln(out, "open")
		default:
			fmt.Fprintf(out, "error: unknown command %q\n", sc.Text())
		}
	}
}

// peer is the running peer process.
type peer struct {
	cmd *exec.Cmd
	in  io.Writer
	out *bufio.Scanner
}

func (p *peer) ask(t *testing.T, command string) string {
	t.Helper()
	if _, err := fmt.Fprintln(p.in, command); err != nil {
		t.Fatalf("peer: %s: %v", command, err)
	}
	if !p.out.Scan() {
		t.Fatalf("peer: %s: no answer (%v)", command, p.out.Err())
	}
	return p.out.Text()
}

// dial reports whether the peer can open a TCP connection to addr.
func (p *peer) dial(t *testing.T, addr string) (bool, string) {
	t.Helper()
	got := p.ask(t, "dial "+addr)
	return got == "open", got
}

// requireNamespaces fails the test, with the reason, where it must not or
// cannot change network namespaces.
func requireNamespaces(t *testing.T) {
	t.Helper()
	if os.Getenv("DCS_ACCESS_IN_NETNS") != "1" {
		t.Fatal("this test adds a network namespace and a veth pair to the namespace it runs in: " +
			"run it in scripts/with-services.sh's private namespace (make test, or bash scripts/with-services.sh go test ./internal/runlocaltest)")
	}
	if os.Geteuid() != 0 {
		t.Fatalf("this test creates network namespaces and interfaces, which needs root in its user namespace; it runs as uid %d "+
			"(scripts/with-services.sh gives a user other than root a user namespace where it is root: is unshare -r allowed here?)", os.Geteuid())
	}
}

// startPeer starts the peer in a new network namespace joined to this one
// by a veth pair: 192.0.2.1 here, 192.0.2.2 there.
func startPeer(t *testing.T) *peer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), peerEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start a process in a new network namespace: %v (this needs CAP_SYS_ADMIN, which make test's namespace gives)", err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	p := &peer{cmd: cmd, in: in, out: bufio.NewScanner(out)}

	ip(t, "link", "add", hostIface, "type", "veth", "peer", "name", peerIface, "netns", fmt.Sprint(cmd.Process.Pid))
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIface).Run() })
	ip(t, "addr", "add", hostAddr+"/24", "dev", hostIface)
	ip(t, "link", "set", hostIface, "up")
	if got := p.ask(t, "up "+peerIface+" "+peerAddr+"/24"); got != "ok" {
		t.Fatalf("peer: %s", got)
	}
	return p
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if b, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, b)
	}
}

// listenEverywhere listens on every interface of this namespace, as
// DynamoDB Local does, and accepts until the test ends: the positive control
// that shows the peer reaches such a port.
func listenEverywhere(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
