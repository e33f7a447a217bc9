package runlocaltest

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// listener is a listening TCP socket held by a process of the stack.
type listener struct {
	pid   int    // a process that holds it
	comm  string // that process's name
	netns string // the socket's network namespace, as /proc/PID/ns/net names it
	nsPID int    // a process in that namespace, to look at it through /proc
	ip    net.IP
	port  int
}

func (l listener) String() string {
	return fmt.Sprintf("%s (pid %d, %s) in %s", net.JoinHostPort(l.ip.String(), strconv.Itoa(l.port)), l.pid, l.comm, l.netns)
}

// descendants returns root and every process below it, from /proc.
func descendants(t *testing.T, root int) []int {
	t.Helper()
	children := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// listeners returns the listening TCP sockets that the processes hold. A
// process may hold a socket of another network namespace than its own (a
// forwarder does, by design), so each socket inode is looked up in the
// tables of every namespace that one of the processes, or this test, is in.
func listeners(t *testing.T, pids []int) []listener {
	t.Helper()
	type where struct {
		socket
		netns string
		nsPID int
	}
	byInode := map[string]where{}
	seen := map[string]bool{}
	for _, pid := range append([]int{os.Getpid()}, pids...) {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		netns, err := os.Readlink(filepath.Join(dir, "ns", "net"))
		if err != nil || seen[netns] {
			continue
		}
		seen[netns] = true
		for _, table := range []string{"tcp", "tcp6"} {
			for _, s := range listening(t, filepath.Join(dir, "net", table)) {
				byInode[s.inode] = where{s, netns, pid}
			}
		}
	}
	var out []listener
	for _, pid := range pids {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue // exited
		}
		comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			if w, ok := byInode[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")]; ok {
				out = append(out, listener{pid: pid, comm: strings.TrimSpace(string(comm)), netns: w.netns, nsPID: w.nsPID, ip: w.ip, port: w.port})
			}
		}
	}
	return out
}

type socket struct {
	ip    net.IP
	port  int
	inode string
}

// listening parses a /proc/net/tcp{,6} table for sockets in state LISTEN.
func listening(t *testing.T, path string) []socket {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil // the process exited, or has no IPv6
	}
	defer f.Close()
	var out []socket
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		hexIP, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(hexIP)
		if err != nil {
			t.Fatalf("%s: bad address %q", path, fields[1])
		}
		// The kernel prints each 32-bit word in host (little-endian) order.
		for i := 0; i+4 <= len(raw); i += 4 {
			raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
		}
		port, _ := strconv.ParseInt(hexPort, 16, 32)
		out = append(out, socket{ip: net.IP(raw), port: int(port), inode: fields[9]})
	}
	return out
}
