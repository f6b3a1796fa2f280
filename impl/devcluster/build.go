package devcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildTestBinaries builds the daemons and ppadmin into a new temporary
// directory and returns it, for tests that run the real processes (the
// caller removes it). It runs `go build` in the module root, so a test
// works from any package directory.
func BuildTestBinaries(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"./impl/cmd/pplistener", "./impl/cmd/powersmtp", "./impl/cmd/powerpop", "./impl/cmd/ppadmin")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building the daemons: %w", err)
	}
	return dir, nil
}
