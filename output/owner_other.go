//go:build !unix

package output

import "os"

type owner struct{ uid, gid int }

func ownerOf(os.FileInfo) (owner, bool) { return owner{}, false }

func keepOwner(*os.File, owner) error { return nil }

func stickyRefusal(os.FileInfo, owner) string { return "" }
