package main

import "testing"

func TestTheLocalServerListensOnLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:3000": true, "localhost:3000": true, "[::1]:3000": true, "127.0.0.2:3000": true,
		"0.0.0.0:3000": false, ":3000": false, "[::]:3000": false, "192.0.2.1:3000": false, "example.com:3000": false, "3000": false,
	} {
		if err := loopbackOnly(addr); (err == nil) != ok {
			t.Errorf("%s: got %v, want allowed %v", addr, err, ok)
		}
	}
}
