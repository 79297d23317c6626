//go:build unix

package output

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// owner is a file's owner and group.
type owner struct{ uid, gid int }

func ownerOf(st os.FileInfo) (owner, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{}, false
	}
	return owner{int(s.Uid), int(s.Gid)}, true
}

// keepOwner gives tmp, the replacement of a file that had owner was, that
// owner: a root run (a job's ExecStartPre, an operator's sudo) must not
// turn a non-root job's report or state into root's, which the job could
// then no longer replace. The error says why the owner cannot be kept.
func keepOwner(tmp *os.File, was owner) error {
	st, err := tmp.Stat()
	if err != nil {
		return err
	}
	if now, ok := ownerOf(st); ok && now == was {
		return nil
	}
	if err := tmp.Chown(was.uid, was.gid); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("owned by uid %d, gid %d: this run (uid %d) would take the file over by replacing it; run as its owner, or remove it first",
				was.uid, was.gid, os.Geteuid())
		}
		return err
	}
	return nil
}

// stickyRefusal says why rename(2) over a file owned by another user in
// dir fails: in a sticky directory (/tmp) only the file's or the
// directory's owner may replace it. "" when it does not apply.
func stickyRefusal(dir os.FileInfo, file owner) string {
	d, ok := ownerOf(dir)
	euid := os.Geteuid()
	if dir.Mode()&os.ModeSticky == 0 || euid == 0 || !ok || d.uid == euid || file.uid == euid {
		return ""
	}
	return fmt.Sprintf("in a sticky directory only its owner (uid %d) can replace it, and this run is uid %d", file.uid, euid)
}
