package ratelimit

import (
	"testing"
	"time"
)

func TestLimitPerKeyPerWindow(t *testing.T) {
	l := New(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if ok, reset := l.Allow("a", t0.Add(time.Second)); ok || !reset.Equal(t0.Add(time.Minute)) {
		t.Fatalf("4th event allowed=%v reset=%v", ok, reset)
	}
	if ok, _ := l.Allow("b", t0); !ok {
		t.Fatal("another key was limited")
	}
	if !l.Blocked("a", t0.Add(time.Second)) || l.Blocked("a", t0.Add(time.Minute)) {
		t.Fatal("Blocked disagrees with the window")
	}
	if ok, _ := l.Allow("a", t0.Add(time.Minute)); !ok {
		t.Fatal("a new window did not reset the count")
	}
	l.Reset("a")
	if l.Blocked("a", t0.Add(time.Minute)) {
		t.Fatal("Reset did not clear the key")
	}
}

func TestZeroLimitAllowsEverything(t *testing.T) {
	l := New(0, time.Minute)
	for i := 0; i < 1000; i++ {
		if ok, _ := l.Allow("a", time.Now()); !ok {
			t.Fatal("refused with the limit off")
		}
	}
}
