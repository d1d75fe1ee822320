package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/durable"
)

// racyWindow: a file modified this close to the moment it was hashed may
// change again without its size or mtime changing, so its hash is not
// trusted (git's "racy clean" problem).
const racyWindow = 2 * time.Second

// HashCache hashes files and remembers each hash by path, size, mtime and
// inode, the way git's index does, so unchanged files are not re-read.
type HashCache struct {
	path    string
	mu      sync.Mutex
	entries map[string]hashEntry
	dirty   bool
}

type hashEntry struct {
	Size     int64  `json:"size"`
	MtimeNS  int64  `json:"mtime_ns"`
	Inode    uint64 `json:"ino"`
	Sum      string `json:"sha256"`
	HashedNS int64  `json:"hashed_ns"`
}

// LoadHashCache reads the cache stored at path; a missing or unreadable
// file gives an empty cache.
func LoadHashCache(path string) *HashCache {
	c := &HashCache{path: path, entries: map[string]hashEntry{}}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &c.entries)
	}
	return c
}

// HashFile returns the sha256 of the file at p.
func (c *HashCache) HashFile(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	stat := statOf(st)
	c.mu.Lock()
	e, ok := c.entries[p]
	c.mu.Unlock()
	if ok && e.Size == stat.Size && e.MtimeNS == stat.MtimeNS && e.Inode == stat.Inode &&
		e.HashedNS-e.MtimeNS > int64(racyWindow) {
		return e.Sum, nil
	}
	sum, err := hashFile(p)
	if err != nil {
		return "", err
	}
	stat.Sum, stat.HashedNS = sum, time.Now().UnixNano()
	c.mu.Lock()
	c.entries[p] = stat
	c.dirty = true
	c.mu.Unlock()
	return sum, nil
}

// Save writes the cache back when it changed.
func (c *HashCache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty || c.path == "" {
		return nil
	}
	b, err := json.Marshal(c.entries)
	if err != nil {
		return err
	}
	if err := durable.WriteFile(c.path, b); err != nil {
		return fmt.Errorf("save hash cache: %w", err)
	}
	c.dirty = false
	return nil
}

func statOf(st os.FileInfo) hashEntry {
	e := hashEntry{Size: st.Size(), MtimeNS: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		e.Inode = sys.Ino
	}
	return e
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
