//go:build !linux

package statemachinetest

import "syscall"

// sysProcAttr: only Linux can tie the server's life to ours; elsewhere Cleanup kills it.
func sysProcAttr() *syscall.SysProcAttr { return nil }
