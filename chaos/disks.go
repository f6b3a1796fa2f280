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
		}
		if err != nil {
			return nil, errors.Join(err, ds.close())
		}
	}
	return ds, nil
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
