package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// blobJob is a blob to scan and the first place history shows it.
type blobJob struct {
	hash   plumbing.Hash
	path   string
	commit *object.Commit
}

// ScanHistory finds the leaks in every blob reachable from the
// repository's branches and tags (or from HEAD back to, not including,
// since), each blob scanned once, reported at the newest commit that holds
// it. It needs no git binary.
func ScanHistory(ctx context.Context, repoPath, since string) ([]Leak, error) {
	d, err := detector()
	if err != nil {
		return nil, err
	}
	repo, err := git.PlainOpenWithOptions(repoPath, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("%s: not a git repository: %w", repoPath, err)
	}
	var stop plumbing.Hash
	opts := &git.LogOptions{All: true, Order: git.LogOrderCommitterTime}
	if since != "" {
		h, err := repo.ResolveRevision(plumbing.Revision(since))
		if err != nil {
			return nil, fmt.Errorf("--since %s: %w", since, err)
		}
		stop = *h
		head, err := repo.Head()
		if err != nil {
			return nil, err
		}
		opts = &git.LogOptions{From: head.Hash(), Order: git.LogOrderCommitterTime}
	}
	iter, err := repo.Log(opts)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil // an empty repository
	}
	if err != nil {
		return nil, err
	}
	seen := map[plumbing.Hash]bool{}
	var jobs []blobJob
	err = iter.ForEach(func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.Hash == stop {
			return storer.ErrStop
		}
		tree, err := c.Tree()
		if err != nil {
			return err
		}
		// A commit brings the blobs that differ from its parents'
		// trees; comparing trees skips every subtree whose hash is
		// unchanged, where walking each commit's whole tree would
		// revisit every file of every commit. A root commit brings all.
		add := func(name string, hash plumbing.Hash, mode filemode.FileMode) {
			if !seen[hash] && mode.IsFile() {
				seen[hash] = true
				jobs = append(jobs, blobJob{hash, name, c})
			}
		}
		if c.NumParents() == 0 {
			return tree.Files().ForEach(func(f *object.File) error {
				add(f.Name, f.Hash, f.Mode)
				return nil
			})
		}
		return c.Parents().ForEach(func(p *object.Commit) error {
			ptree, err := p.Tree()
			if err != nil {
				return err
			}
			changes, err := object.DiffTreeWithOptions(ctx, ptree, tree, &object.DiffTreeOptions{})
			if err != nil {
				return err
			}
			for _, ch := range changes {
				if ch.To.Name != "" {
					add(ch.To.Name, ch.To.TreeEntry.Hash, ch.To.TreeEntry.Mode)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	leaks, err := parallel(ctx, jobs, func(j blobJob) ([]Leak, error) {
		blob, err := repo.BlobObject(j.hash)
		if err != nil {
			return nil, fmt.Errorf("blob %s (%s): %w", j.hash, j.path, err)
		}
		r, err := blob.Reader()
		if err != nil {
			return nil, fmt.Errorf("blob %s (%s): %w", j.hash, j.path, err)
		}
		defer r.Close()
		b, err := io.ReadAll(io.LimitReader(r, maxFile))
		if err != nil {
			return nil, fmt.Errorf("blob %s (%s): %w", j.hash, j.path, err)
		}
		ls := scanContent(d, j.path, b)
		for i := range ls {
			ls[i].Commit = j.commit.Hash.String()
			ls[i].Author = j.commit.Author.Email
			ls[i].Date = j.commit.Author.When.UTC().Format(time.RFC3339)
		}
		return ls, nil
	})
	if err != nil {
		return nil, err
	}
	sortLeaks(leaks)
	return leaks, nil
}

// ScanStaged finds the leaks in what is staged for the next commit: every
// index entry whose blob differs from HEAD's, read from the object store
// (what will be committed, not what is in the working tree).
func ScanStaged(ctx context.Context, repoPath string) ([]Leak, []string, error) {
	d, err := detector()
	if err != nil {
		return nil, nil, err
	}
	repo, err := git.PlainOpenWithOptions(repoPath, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a git repository: %w", repoPath, err)
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return nil, nil, err
	}
	inHead := map[string]plumbing.Hash{}
	if head, err := repo.Head(); err == nil {
		c, err := repo.CommitObject(head.Hash())
		if err != nil {
			return nil, nil, err
		}
		tree, err := c.Tree()
		if err != nil {
			return nil, nil, err
		}
		tree.Files().ForEach(func(f *object.File) error { inHead[f.Name] = f.Hash; return nil })
	}
	var leaks []Leak
	var changed []string
	for _, e := range idx.Entries {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if h, ok := inHead[e.Name]; ok && h == e.Hash {
			continue
		}
		changed = append(changed, e.Name)
		blob, err := repo.BlobObject(e.Hash)
		if err != nil {
			return nil, nil, fmt.Errorf("staged %s: %w", e.Name, err)
		}
		r, err := blob.Reader()
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(io.LimitReader(r, maxFile))
		r.Close()
		if err != nil {
			return nil, nil, err
		}
		leaks = append(leaks, scanContent(d, e.Name, b)...)
	}
	sortLeaks(leaks)
	return leaks, changed, nil
}
