package sim

import (
	"cmp"
	"container/heap"
	"slices"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// taskKind is what a scheduled task does when it is due.
type taskKind int

const (
	taskConnect  taskKind = iota // the connection attempt answers
	taskQRExpire                 // the QR code on show expires
	taskPair                     // the phone confirms a pairing code
	taskReceipt                  // a contact's phone sends a receipt
)

// task is one thing a session does later, on its own goroutine.
type task struct {
	due  time.Time // on the monotonic clock
	seq  uint64    // ties on due run in scheduling order
	kind taskKind
	// conn marks tasks of the current connection attempt: they are
	// cancelled together when the connection ends.
	conn    bool
	phone   string         // taskPair
	receipt engine.Receipt // taskReceipt
}

// schedule is a session's timeline: a min-heap of tasks and the one timer
// that fires at the earliest. It belongs to the session's goroutine.
type schedule struct {
	tasks taskHeap
	seq   uint64
	timer *time.Timer
}

// add schedules t to run after d.
func (s *schedule) add(d time.Duration, t task) {
	t.due = time.Now().Add(d)
	t.seq = s.seq
	s.seq++
	heap.Push(&s.tasks, &t)
}

// popDue removes and returns the earliest task due at now, or nil.
func (s *schedule) popDue(now time.Time) *task {
	if len(s.tasks) == 0 || s.tasks[0].due.After(now) {
		return nil
	}
	return heap.Pop(&s.tasks).(*task)
}

// remove drops every task for which drop is true and returns them in the
// order they would have run.
func (s *schedule) remove(drop func(*task) bool) []*task {
	var dropped []*task
	kept := s.tasks[:0]
	for _, t := range s.tasks {
		if drop(t) {
			dropped = append(dropped, t)
		} else {
			kept = append(kept, t)
		}
	}
	clear(s.tasks[len(kept):])
	s.tasks = kept
	heap.Init(&s.tasks)
	sortTasks(dropped)
	return dropped
}

// arm sets the timer for the earliest task, or stops it when none is left.
func (s *schedule) arm() {
	if len(s.tasks) == 0 {
		if s.timer != nil {
			s.timer.Stop()
		}
		return
	}
	d := time.Until(s.tasks[0].due)
	if s.timer == nil {
		s.timer = time.NewTimer(d)
		return
	}
	s.timer.Reset(d)
}

// fired is the timer's channel; nil (never ready) before the first task.
func (s *schedule) fired() <-chan time.Time {
	if s.timer == nil {
		return nil
	}
	return s.timer.C
}

// stop stops the timer for good.
func (s *schedule) stop() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(*task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

func sortTasks(ts []*task) {
	slices.SortFunc(ts, func(a, b *task) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}
