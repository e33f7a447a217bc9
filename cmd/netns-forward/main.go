// Command netns-forward runs an HTTP service in a private network namespace,
// where nothing outside the machine can reach it, and forwards one loopback
// port of this machine to the same port inside:
//
//	netns-forward -listen 127.0.0.1:8765 -- java -jar DynamoDBLocal.jar -port 8765
//
// DynamoDB Local has no bind-address flag and listens on every interface;
// `make run` starts it through this. The listening socket is opened here, in
// this machine's network namespace and on a loopback address only, and
// handed to a child started in new network and PID namespaces (and a user
// namespace, for a user other than root). The child brings up its own lo,
// starts the command, and proxies each HTTP request to the port inside. The
// command's namespace has no interface but lo, and the only way in is the
// loopback socket.
//
// Loopback is still open to the web pages a developer visits: DynamoDB
// Local grants CORS to any origin and ignores the Host header. The proxy
// therefore forwards only what a local program sends: no Origin header (a
// browser sends one on every cross-site request and preflight) and a Host
// that names this port on a loopback name (a page after DNS rebinding sends
// its own name); anything else is a 403 (docs/security.md).
//
// When the command exits, netns-forward exits with its status; SIGTERM (or
// SIGINT, unless it was ignored at start) stops the command (SIGTERM, then
// SIGKILL after 5 s). As the PID namespace's first process, the child takes
// the command down with it whatever happens.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// childEnv marks the re-executed child, inside the namespaces.
const childEnv = "NETNS_FORWARD_CHILD"

// listenerFD is the inherited listening socket in the child (ExtraFiles[0]).
const listenerFD = 3

func main() {
	listen := flag.String("listen", "", "loopback address to listen on, such as 127.0.0.1:8765; requests go to the same port inside")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: netns-forward -listen 127.0.0.1:PORT -- COMMAND [ARGS...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if os.Getenv(childEnv) == "1" {
		err = child(*listen, flag.Args())
	} else {
		err = parent(*listen, flag.Args())
	}
	var exit exitStatus
	switch {
	case errors.As(err, &exit):
		os.Exit(int(exit))
	case err != nil:
		fmt.Fprintf(os.Stderr, "netns-forward: %v\n", err)
		os.Exit(1)
	}
}

// exitStatus is the command's exit status, passed on.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// parent opens the loopback listener and starts the child in the new namespaces.
func parent(listen string, command []string) error {
	if len(command) == 0 {
		flag.Usage()
		return exitStatus(2)
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: want a loopback IP address such as 127.0.0.1: nothing outside the machine may reach the command", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	file, err := ln.(*net.TCPListener).File()
	if err != nil {
		return err
	}
	ln.Close() // the child holds the socket from here on

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{file}
	cmd.SysProcAttr = namespaces()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start %s in a private network namespace: %w%s", command[0], err, userNamespaceHint())
	}
	file.Close()
	go relaySignals(cmd.Process)
	return wait(cmd)
}

// namespaces asks for new network and PID namespaces. Root needs nothing
// more; another user also gets a user namespace where it is root (as
// `unshare -r` does), so that the child may bring lo up, while files it
// writes stay the user's own.
func namespaces() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	return attr
}

func userNamespaceHint() string {
	if os.Geteuid() == 0 {
		return ""
	}
	return " (a user other than root needs unprivileged user namespaces: check that `unshare -rn true` works)"
}

// child runs inside the namespaces: lo up, the command started, requests on
// the inherited listener proxied to the command's port.
func child(listen string, command []string) error {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	// FileListener holds its own (close-on-exec) copy: closing the inherited
	// descriptor keeps it from the processes started below.
	inherited := os.NewFile(listenerFD, "listener")
	ln, err := net.FileListener(inherited)
	inherited.Close()
	if err != nil {
		return fmt.Errorf("inherited listener: %w", err)
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %w: %s", err, strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	go forward(ln, port)
	go relaySignals(cmd.Process)
	return wait(cmd)
}

// forward proxies the HTTP requests that local programs send on ln to the
// same port on this namespace's loopback.
func forward(ln net.Listener, port string) {
	target := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", port)}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLocalProgram(r, port) {
			http.Error(w, "netns-forward: only local programs may call this service: no Origin header, and Host 127.0.0.1, localhost or [::1] with port "+port, http.StatusForbidden)
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	_ = srv.Serve(ln)
}

// fromLocalProgram reports whether r carries no Origin header and names
// port on a loopback name in its Host.
func fromLocalProgram(r *http.Request, port string) bool {
	if _, ok := r.Header["Origin"]; ok {
		return false
	}
	host, p, err := net.SplitHostPort(r.Host)
	if err != nil || p != port {
		return false
	}
	switch strings.ToLower(host) {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// relaySignals stops p on SIGTERM, or SIGINT unless that was ignored when
// we started (a script's background job: Ctrl-C is for the script, which
// sends SIGTERM): SIGTERM, then SIGKILL.
func relaySignals(p *os.Process) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	if !signal.Ignored(syscall.SIGINT) {
		signal.Notify(sigs, syscall.SIGINT)
	}
	<-sigs
	_ = p.Signal(syscall.SIGTERM)
	time.Sleep(5 * time.Second)
	_ = p.Kill()
}

// wait waits for cmd and returns its exit status (128+N for a signal N).
func wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return err
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitStatus(128 + int(ws.Signal()))
	}
	return exitStatus(exit.ExitCode())
}
