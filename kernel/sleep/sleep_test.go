package sleep

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWakeBeforeSleepIsNotLost(t *testing.T) {
	var w Waker
	token := w.Token()
	w.Wake()
	start := time.Now()
	assert.True(t, w.Sleep(token, time.Second), "woken")
	assert.Less(t, time.Since(start), 100*time.Millisecond, "returned at once")
	wakes, syscalls := w.Stats()
	assert.Equal(t, uint64(1), wakes)
	assert.Equal(t, uint64(0), syscalls, "no FUTEX_WAKE without a sleeper")
}

func TestSleepTimesOut(t *testing.T) {
	var w Waker
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		start := time.Now()
		assert.False(t, w.Sleep(w.Token(), d), "not woken")
		assert.GreaterOrEqual(t, time.Since(start), d, "slept the whole timeout")
	}
	assert.False(t, w.SleepUntil(w.Token(), time.Now().Add(-time.Second)), "a deadline that has passed")
}

func TestWakeEndsSleepOnOtherGoroutine(t *testing.T) {
	var w Waker
	token := w.Token()
	done := make(chan bool)
	go func() { done <- w.Sleep(token, 0) }()
	// Wait until the sleeper is in the host kernel (or about to be).
	for w.sleeping.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	w.Wake()
	select {
	case woken := <-done:
		assert.True(t, woken)
	case <-time.After(10 * time.Second):
		t.Fatal("Wake did not end the Sleep")
	}
	_, syscalls := w.Stats()
	assert.Equal(t, uint64(1), syscalls, "one FUTEX_WAKE for a sleeper")
}

// TestPingPong passes a turn back and forth between two goroutines
// through two Wakers: a lost wake-up hangs it.
func TestPingPong(t *testing.T) {
	const rounds = 2000
	var a, b Waker
	var mu sync.Mutex
	turn := 0
	wait := func(w *Waker, me int) {
		for {
			token := w.Token()
			mu.Lock()
			mine := turn == me
			mu.Unlock()
			if mine {
				return
			}
			w.Sleep(token, 0)
		}
	}
	pass := func(w *Waker, to int) {
		mu.Lock()
		turn = to
		mu.Unlock()
		w.Wake()
	}
	done := make(chan struct{})
	go func() {
		for range rounds {
			wait(&b, 1)
			pass(&a, 0)
		}
		close(done)
	}()
	for range rounds {
		pass(&b, 1)
		wait(&a, 0)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ping-pong hung: a wake-up was lost")
	}
}
