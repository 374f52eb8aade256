//go:build unix

package scripting

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSourceMapsAreNeverRead: goja would read a "sourceMappingURL" from the
// file system while parsing. The URL here names a FIFO: a read would
// block (and be seen, because the FIFO then has a reader), so compiling
// and running must finish with nobody having opened it.
func TestSourceMapsAreNeverRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "map.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// goja resolves the URL against the plugin's name, a relative path:
	// name the FIFO relative to the working directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	url, err := filepath.Rel(wd, fifo)
	if err != nil {
		t.Fatal(err)
	}
	src := "function onEvent(e) {\n  e.data.v = eval('1 + 1\\n//# sourceMappingURL=" + url + "')\n  return e\n}\n//# sourceMappingURL=" + url + "\n"
	done := make(chan Outcome, 1)
	go func() {
		p, err := Compile(Spec{Name: "map.js", Source: src}, roomy)
		if err != nil {
			done <- Outcome{Err: &Error{Kind: err}}
			return
		}
		done <- p.Call(received(`{}`), testNow)
	}()
	select {
	case o := <-done:
		if o.Err != nil || string(o.Events[0].Data) != `{"v":2}` {
			t.Fatalf("outcome %+v", o)
		}
	case <-time.After(10 * time.Second):
		// Unblock the reader so that the test ends, then fail.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("compiling read the source map named in the source")
	}
	// Opening the write end without blocking succeeds only if a reader has
	// the FIFO open.
	w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		w.Close()
		t.Fatal("the source map FIFO has a reader")
	}
	if !errors.Is(err, syscall.ENXIO) {
		t.Fatalf("open write end: %v", err)
	}
}
