// Command paper regenerates the generated blocks of paper.md from results/
// (see package sim/paper), after drawing the figures made from results/
// (the chaos outcomes). Usage: paper [-paper paper.md] [-root .] [-check].
// With -check it only reports whether paper.md is up to date.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"powermail/sim/paper"
)

func main() {
	file := flag.String("paper", "paper.md", "the paper to regenerate in place")
	root := flag.String("root", ".", "directory that holds results/")
	check := flag.Bool("check", false, "fail if paper.md differs from what the results give, without writing")
	flag.Parse()
	if err := run(*file, *root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "paper:", err)
		os.Exit(1)
	}
}

func run(file, root string, check bool) error {
	if !check {
		// The figures first: the paper cites them, and Render checks that
		// every cited file exists.
		if err := paper.WritePlots(root); err != nil {
			return err
		}
	}
	old, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, err := paper.Render(string(old), root)
	if err != nil {
		return err
	}
	if check {
		if out != string(old) {
			return fmt.Errorf("%s is out of date: run make paper", file)
		}
		return nil
	}
	tmp := filepath.Join(filepath.Dir(file), "."+filepath.Base(file)+".tmp")
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
