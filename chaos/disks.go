package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"powermail/chaos/powercut"
	"powermail/impl/devcluster"
)

// disks are the power-cut file systems of a run (Config.PowerFS), one per
// backend, mounted on the backends' data roots for the whole run: every
// epoch and the final check. nil when the backends use the real disk.
type disks []*powercut.Disk

// mountDisks mounts a powercut disk on each backend's data root when
// cfg.PowerFS; its backing state lives in cfg.Dir/disks/.
func mountDisks(cfg Config, opt devcluster.Options) (disks, error) {
	if !cfg.PowerFS {
		return nil, nil
	}
	if err := powercut.Available(); err != nil {
		return nil, err
	}
	var ds disks
	for i := 0; i < cfg.Backends; i++ {
		root := devcluster.BackendRoot(opt.Dir, i)
		if err := os.MkdirAll(root, 0o700); err != nil {
			return nil, errors.Join(err, ds.close())
		}
		d, err := powercut.Mount(root, filepath.Join(cfg.Dir, "disks", fmt.Sprintf("backend-%d", i)))
		if err == nil {
			ds = append(ds, d)
			err = provision(root)
		}
		if err != nil {
			return nil, errors.Join(err, ds.close())
		}
	}
	return ds, nil
}

// storeDirPerm is the store's own mode for its directories.
const storeDirPerm = 0o750

// provision makes the store's top directories durable before it first
// starts, as an installer would. The store creates tmp/ and mbox/ at Open
// and makes them durable with syncfs(2), which never reaches a FUSE file
// system (see powercut's package doc): without this step, the first power
// cut would take mbox/, and every mailbox with it, from a correct store.
// It can go once the store fsyncs what it creates at Open.
func provision(root string) error {
	for _, dir := range []string{"tmp", "mbox"} {
		if err := os.Mkdir(filepath.Join(root, dir), storeDirPerm); err != nil {
			return err
		}
	}
	f, err := os.Open(root)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// cut cuts the power of every disk. Their backends must be down: a cut
// with files open aborts the mount under them.
func (ds disks) cut() error {
	for _, d := range ds {
		if err := d.Cut(); err != nil {
			return err
		}
	}
	return nil
}

// close unmounts every disk.
func (ds disks) close() error {
	var errs []error
	for _, d := range ds {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// stats are the disks' counts, for the report.
func (ds disks) stats() []powercut.Stats {
	var out []powercut.Stats
	for _, d := range ds {
		out = append(out, d.Stats())
	}
	return out
}
