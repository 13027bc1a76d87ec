package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func newHook(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "hook", Short: "Install a git pre-commit hook that scans staged changes"}
	cmd.AddCommand(hookInstall(g))
	return cmd
}

// hookMarker identifies a hook modelgate wrote, so that install can
// replace its own but never someone else's.
const hookMarker = "# installed by modelgate hook install"

func hookInstall(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "install [REPO] [--force]",
		Short: "Write .git/hooks/pre-commit: staged secrets, and staged dependency files when a vulnerability database exists",
		Long: `Write a plain git pre-commit hook that runs "modelgate scan secrets --staged"
on the repository: a commit that would add a credential is refused, and
when dependency files are staged (and "vulndb import" has been run) one
that brings a high or critical advisory. An existing hook that modelgate
did not write is left alone unless --force. With the pre-commit framework,
use the hooks in .pre-commit-hooks.yaml instead.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo := "."
			if len(args) == 1 {
				repo = args[0]
			}
			gitDir := filepath.Join(repo, ".git")
			if fi, err := os.Stat(gitDir); err != nil || !fi.IsDir() {
				return usagef("%s is not the top of a git work tree (no .git directory)", repo)
			}
			path := filepath.Join(gitDir, "hooks", "pre-commit")
			if old, err := os.ReadFile(path); err == nil && !strings.Contains(string(old), hookMarker) && !force {
				return usagef("%s exists and was not written by modelgate: pass --force to replace it", path)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			dataDir, err := filepath.Abs(g.dataDir)
			if err != nil {
				return err
			}
			script := fmt.Sprintf("#!/bin/sh\n%s\nexec %q --data-dir %q scan secrets --staged .\n", hookMarker, self, dataDir)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
				return usageError{err}
			}
			fmt.Fprintf(g.stdout, "wrote %s\n", path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace a pre-commit hook modelgate did not write")
	return cmd
}
