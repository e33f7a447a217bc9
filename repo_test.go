package dcsaccess

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Nothing built is committed: a bootstrap or a command built in the
// working tree by hand (go build ./functions/x) is 8 to 20 MB that every
// clone would carry forever.
func TestNoBuiltBinaryIsTracked(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v (the test reads what git tracks: run it in a clone)", err)
	}
	files := bytes.Split(bytes.TrimRight(out, "\x00"), []byte{0})
	if len(files) < 10 {
		t.Fatalf("git tracks %d files: the positive control (this repository has hundreds) failed", len(files))
	}
	for _, name := range files {
		f, err := os.Open(string(name))
		if err != nil {
			continue // deleted in the working tree
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		if n == 4 && bytes.Equal(head, []byte("\x7fELF")) {
			t.Errorf("%s is a built binary (ELF): remove it from git and build it under build/ or .local/", name)
		}
	}
}
