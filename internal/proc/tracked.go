package proc

import (
	"context"
	"sync"
	"syscall"
	"time"
)

// treePoll is how often RunTracked reads the process tree: BentoML's
// workers run in sessions of their own, so a signal to the server's process
// group misses them, and they are found through their parent while it lives.
const treePoll = 250 * time.Millisecond

// RunTracked is Run for a process whose descendants may leave its process
// group (servers that setsid their workers): while it runs, its process
// tree is read every treePoll, and once it has ended, every descendant seen
// that still lives is killed. leftovers, when set, is told how many were.
func RunTracked(ctx context.Context, c Command, leftovers func(n int)) (Result, error) {
	var (
		mu   sync.Mutex
		seen = map[Proc]bool{}
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	c.OnStart = func(pid int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(treePoll)
			defer t.Stop()
			for {
				procs := Descendants(pid)
				mu.Lock()
				for _, p := range procs {
					seen[p] = true
				}
				mu.Unlock()
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
	}
	res, err := Run(ctx, c)
	close(done)
	wg.Wait()
	if n := max(killAll(seen), res.Leftovers); n > 0 && leftovers != nil {
		leftovers(n)
	}
	return res, err
}

// killAll kills the processes of seen that still live and waits (2 s at
// most) until they are gone; it returns how many it killed.
func killAll(seen map[Proc]bool) int {
	var alive []Proc
	for p := range seen {
		if p.Alive() {
			alive = append(alive, p)
			p.Kill(syscall.SIGKILL)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, p := range alive {
		for p.Alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return len(alive)
}
